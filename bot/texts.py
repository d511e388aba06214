"""Texts the bot itself says (everything Rasa says lives in domain.yml), in Chinese and English."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "start": {
        "zh": (
            "您好，欢迎使用迅捷速运在线客服！我可以帮您：\n"
            "• 查询快递：直接发送运单号，例如 XJ202611180042\n"
            "• 更多服务正在陆续开通\n"
            "发送 /help 查看帮助，/language 切换语言。"
        ),
        "en": (
            "Hello, welcome to XunJie Express customer service! I can help you:\n"
            "• Track a parcel: just send its waybill number, e.g. XJ202611180042\n"
            "• More services are on their way\n"
            "Send /help for help, /language to change the language."
        ),
    },
    "help": {
        "zh": (
            "使用帮助：\n"
            "• 发送运单号即可查件：本公司单号为 XJ 加 12 位数字（如 XJ202611180042），"
            "国际件为 2 个字母 + 9 位数字 + 2 个字母（如 EE123456785CN）。空格和横线都没关系。\n"
            "• 一条消息里可以放多个单号。\n"
            "• /language 选择中文或英文回复。\n"
            "• 请用文字描述您的问题，我们会尽力帮您。"
        ),
        "en": (
            "How to use this chat:\n"
            "• Send a waybill number to track it: ours are XJ followed by 12 digits (e.g. XJ202611180042); "
            "international ones are 2 letters, 9 digits, 2 letters (e.g. EE123456785CN). Spaces and hyphens are fine.\n"
            "• You can send several numbers in one message.\n"
            "• /language chooses Chinese or English replies.\n"
            "• Please describe your question in words and we will do our best to help."
        ),
    },
    "language_prompt": {
        "zh": "请选择回复语言：",
        "en": "Please choose the language for my replies:",
    },
    "language_set_zh": {"zh": "好的，之后我会用中文回复您。", "en": "好的，之后我会用中文回复您。"},
    "language_set_en": {
        "zh": "OK, I will reply in English from now on.",
        "en": "OK, I will reply in English from now on.",
    },
    "language_set_auto": {
        "zh": "好的，我会用您最近一条消息的语言回复。",
        "en": "OK, I will reply in the language of your latest message.",
    },
    "holding": {
        "zh": "抱歉，系统暂时有点忙，没能及时处理您的消息。您的消息已保存，请稍后再试，或稍候我们的客服人员与您联系。",
        "en": (
            "Sorry, our assistant is having trouble right now and could not answer in time. "
            "Your message is saved; please try again in a moment, or wait for a member of our team to contact you."
        ),
    },
    "unsupported_media": {
        "zh": "抱歉，我目前只能看懂文字消息。请用文字描述您的问题，或直接发送运单号查件。",
        "en": "Sorry, I can only read text messages for now. Please describe your question in words, "
        "or send a waybill number to track a parcel.",
    },
    "empty": {
        "zh": "您好，好像收到了一条空消息。请问有什么可以帮您？可以直接发送运单号查件。",
        "en": "Hello, that message seems to be empty. How can I help? You can send a waybill number to track a parcel.",
    },
    "too_long": {
        "zh": "抱歉，这条消息太长了（超过 {limit} 字），我没能处理。请简要描述您的问题，或分几条发送。",
        "en": "Sorry, that message is too long for me (over {limit} characters). "
        "Please summarise your question or send it in a few shorter messages.",
    },
    "unknown_command": {
        "zh": "抱歉，我不认识这个命令。可用命令：/start、/help、/language。",
        "en": "Sorry, I don't know that command. Available commands: /start, /help, /language.",
    },
    "button_expired": {
        "zh": "这个按钮已失效，请直接发送您的问题。",
        "en": "This button has expired; please type your question instead.",
    },
}

COMMAND_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "start": {"zh": "开始 / 欢迎", "en": "Start / welcome"},
    "help": {"zh": "使用帮助", "en": "How to use this chat"},
    "language": {"zh": "选择语言", "en": "Choose the language"},
}


def text(key: str, language: str, **values: object) -> str:
    """The bot text for a key in a language (English if the language is unknown)."""
    variants = TEXTS[key]
    template = variants.get(language) or variants["en"]
    return template.format(**values) if values else template
