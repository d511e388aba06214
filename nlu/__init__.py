"""The intent model: training data, held-out sets, custom Rasa components, the bot's Rasa channel, the toolchain."""
