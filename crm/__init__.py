"""The customer database and its services, shared by the bot, the action server and staff tools."""
