"""Texts the bot itself says (everything Rasa says lives in domain.yml), in Chinese and English."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "start": {
        "zh": (
            "您好，欢迎使用{brand}在线客服！我可以帮您：\n"
            "• 查询快递：直接发送运单号，例如 XJ202611180042\n"
            "• 查看我的包裹、修改派送地址或日期（需先用 /link 验证手机号）\n"
            "• 投诉（延误、破损、丢件、错派、快递员、费用）和查询投诉进度\n"
            "• 预约上门取件、评价服务、常见问题（运费、时效、禁寄物品等）\n"
            "发送 /help 查看帮助，/language 切换语言。"
        ),
        "en": (
            "Hello, welcome to {brand} customer service! I can help you:\n"
            "• Track a parcel: just send its waybill number, e.g. XJ202611180042\n"
            "• See your parcels, change a delivery address or day (verify your phone first with /link)\n"
            "• Complaints (late, damaged, lost, wrong delivery, courier, charges) and their progress\n"
            "• Book a pickup, rate our service, common questions (fees, delivery times, prohibited items…)\n"
            "Send /help for help, /language to change the language."
        ),
    },
    "help": {
        "zh": (
            "使用帮助：\n"
            "• 发送运单号即可查件：本公司单号为 XJ 加 12 位数字（如 XJ202611180042），"
            "国际件为 2 个字母 + 9 位数字 + 2 个字母（如 EE123456785CN）。空格和横线都没关系。\n"
            "• 一条消息里可以放多个单号。\n"
            "• /link 验证手机号后，可以查看“我的包裹”、看到包裹详情并修改派送。\n"
            "• 投诉、预约取件、评价都可以直接用文字告诉我，例如“我的包裹破损了”。\n"
            "• 包裹破损：发一张照片，把运单号和情况写在照片说明里即可。\n"
            "• /language zh（中文）、/language en（English）或 /language auto（跟随您的消息）选择回复语言。\n"
            "• /human 或发送“转人工”联系人工客服。\n"
            "• /forget 或发送“删除我的数据”：删除我们保存的您的个人数据。\n"
            "• 请用文字描述您的问题，我们会尽力帮您。"
        ),
        "en": (
            "How to use this chat:\n"
            "• Send a waybill number to track it: ours are XJ followed by 12 digits (e.g. XJ202611180042); "
            "international ones are 2 letters, 9 digits, 2 letters (e.g. EE123456785CN). Spaces and hyphens are fine.\n"
            "• You can send several numbers in one message.\n"
            "• /link verifies your phone number; then you can see \"my parcels\", their details, "
            "and change deliveries.\n"
            "• Complaints, pickups and feedback: just tell me, e.g. \"my parcel arrived damaged\".\n"
            "• A damaged parcel: send a photo with the waybill number and what happened as its caption.\n"
            "• /language en (English), /language zh (中文) or /language auto (follow your messages) "
            "chooses the reply language.\n"
            "• /human (or just ask for a person) brings in our customer service team.\n"
            "• /forget (or \"delete my data\") erases the personal data we hold about you.\n"
            "• Please describe your question in words and we will do our best to help."
        ),
    },
    "language_prompt": {
        "zh": "请选择回复语言：",
        "en": "Please choose the language for my replies:",
    },
    "language_usage": {
        "zh": "没有这个语言选项。请发送 /language zh（中文）、/language en（English）或 /language auto"
        "（跟随您最近一条消息的语言），或点击下面的按钮：",
        "en": "That is not one of the choices. Send /language zh (中文), /language en (English) or /language auto "
        "(follow the language of your latest message), or tap a button below:",
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
    "bot_back": {
        "zh": "系统已恢复，抱歉让您久等！请把您的问题再发一次，我马上为您处理。（如仍需人工客服，请发送“转人工”。）",
        "en": "I'm working again, sorry for the wait! Please send your question once more and I'll answer right away. "
        "(If you still want a person, just say so.)",
    },
    "holding_stored": {
        "zh": "您的消息已收到。系统正在短暂维护，恢复后会立即为您处理，无需重复发送。",
        "en": "We have your message. Our system is briefly unavailable; we will answer as soon as it is back, "
        "no need to write again.",
    },
    "holding": {
        "zh": "抱歉，系统暂时有点忙，没能及时处理您的消息。您的消息已保存，请稍后再试，或稍候我们的客服人员与您联系。",
        "en": (
            "Sorry, our assistant is having trouble right now and could not answer in time. "
            "Your message is saved; please try again in a moment, or wait for a member of our team to contact you."
        ),
    },
    "link_prompt": {
        "zh": (
            "为了保护您的隐私，请点击下方的“📱 验证手机号”按钮，把您 Telegram 账号的手机号发给我们。"
            "我们会与下单时留的手机号核对，号码只用于验证身份。"
        ),
        "en": (
            "To protect your privacy, please tap \"📱 Verify my phone number\" below to share your Telegram "
            "phone number. We match it with the number on your orders and use it only to verify you."
        ),
    },
    "link_button": {"zh": "📱 验证手机号", "en": "📱 Verify my phone number"},
    "link_done": {
        "zh": "{name}，您好！手机号验证成功，您的账号已绑定。现在可以发送“我的包裹”查看您的包裹，或修改派送。",
        "en": "Thank you, {name}: your phone number is verified and your account is linked. "
        "You can now ask for \"my parcels\" or change a delivery.",
    },
    "link_moved": {
        "zh": (
            "提示：您的手机号刚刚在另一个 Telegram 账号上完成了验证，所以本账号已与您的客户资料解除绑定，"
            "不能再查看包裹详情。如果这不是您本人操作，请发送“转人工”联系我们；"
            "如需在本账号继续使用，请发送 /link 重新验证。"
        ),
        "en": (
            "Please note: your phone number was just verified from another Telegram account, so this account is no "
            "longer linked to your customer record and cannot see your parcels' details. If that wasn't you, ask "
            "for a person; to use this account again, send /link to verify once more."
        ),
    },
    "link_not_found": {
        "zh": "抱歉，没有找到与这个手机号关联的客户资料。请确认是下单时留的手机号；如需帮助，可以发送“转人工”。",
        "en": "Sorry, I couldn't find a customer with this phone number. Please make sure it is the number on "
        "your orders; if you need help, just ask for a person.",
    },
    "link_not_own": {
        "zh": "为了保护客户隐私，只能验证您本人的手机号。请点击“📱 验证手机号”按钮分享您自己的联系方式。",
        "en": "To protect our customers' privacy, I can only verify your own phone number. Please tap "
        "\"📱 Verify my phone number\" to share your own contact.",
    },
    "unsupported_media": {
        "zh": "抱歉，我目前看不懂语音、贴纸和文件。请用文字描述您的问题，或直接发送运单号查件；"
        "包裹破损的话，可以发一张照片，并在照片说明里写上运单号和情况。",
        "en": "Sorry, I can't understand voice messages, stickers or files. Please describe your question in words, "
        "or send a waybill number to track a parcel; if a parcel arrived damaged, send a photo with the waybill "
        "number and what happened as its caption.",
    },
    "photo_without_caption": {
        "zh": "收到您的照片。我还看不懂图片内容：请告诉我这张照片是关于什么的，例如“我的快递XJ202611170007破损了”，"
        "也可以重发照片并把这句话写在照片说明里。",
        "en": "Thank you for the photo. I can't see what is in pictures yet: please tell me what it is about, e.g. "
        "\"my parcel XJ202611170007 arrived broken\", or send it again with that as its caption.",
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
    # {commands}: the customer command menu (COMMAND_DESCRIPTIONS), one per line with what it does.
    "unknown_command": {
        "zh": "抱歉，我不认识这个命令。可用命令：\n{commands}",
        "en": "Sorry, I don't know that command. Available commands:\n{commands}",
    },
    # ---------------------------------------------------------------- personal data (/forget)
    "forget_prompt": {
        "zh": (
            "您要求删除我们保存的您的个人数据。确认后：\n"
            "• 删除您与我们的聊天记录、与人工客服的对话、智能助手的对话记录，以及投诉描述和照片、评价留言、取件地址；\n"
            "• 清除您客户资料中的姓名、电话、地址，并解除本 Telegram 账号与客户资料的绑定"
            "（企业账户的资料由企业管理，这里只解除绑定）；\n"
            "• 我们依法保留不含您个人信息的运单记录（单号、重量、运费、日期）和投诉统计。\n"
            "删除后无法恢复。确定要删除吗？"
        ),
        "en": (
            "You asked us to erase the personal data we hold about you. Once you confirm:\n"
            "• our chat history with you, your conversations with our agents and with the assistant, complaint "
            "descriptions and photos, feedback comments and pickup addresses are erased;\n"
            "• your name, phone and address are removed from your customer record, and this Telegram account is "
            "unlinked from it (a company account's record is the company's: only the link goes);\n"
            "• as the law requires, we keep waybill records without your personal data (number, weight, fee, "
            "dates) and complaint statistics.\n"
            "This cannot be undone. Erase your data?"
        ),
    },
    "forget_yes": {"zh": "🗑 确认删除", "en": "🗑 Yes, erase my data"},
    "forget_no": {"zh": "取消", "en": "Cancel"},
    "forget_done": {
        "zh": "您的个人数据已删除。之后有需要时直接给我们发消息即可；如需查看包裹详情，请重新用 /link 验证手机号。",
        "en": (
            "Your personal data has been erased. Write to us whenever you need us again; to see your parcels' "
            "details, verify your phone again with /link."
        ),
    },
    "forget_cancelled": {"zh": "好的，没有删除任何数据。", "en": "OK, nothing was erased."},
    "forget_expired": {
        "zh": "这个确认按钮已过期，请重新发送 /forget。",
        "en": "This confirmation has expired; please send /forget again.",
    },
    "forget_blocked": {
        "zh": (
            "您还有包裹或预约取件正在处理中：{parcels}。为了完成派送或取件，我们需要您的地址和电话。"
            "请在签收或取件完成后再发送 /forget，届时即可删除。"
        ),
        "en": (
            "Some of your parcels or pickups are still under way: {parcels}. We need your address and phone to "
            "complete them. Please send /forget again once they are delivered or collected."
        ),
    },
    # ---------------------------------------------------------------- the human queue, customer side
    "holding_queued": {
        "zh": (
            "抱歉，系统暂时有点忙，没能及时处理您的消息。您的消息已保存，并已转给人工客服：\n"
            "您目前排在第 {position} 位，预计等待约 {wait_minutes} 分钟。您可以继续留言，客服会看到全部内容。"
        ),
        "en": (
            "Sorry, our assistant is having trouble right now and could not answer in time. Your message is saved "
            "and has been passed to our customer service team.\nYou are number {position} in the queue; the expected "
            "wait is about {wait_minutes} minutes. Feel free to keep writing: they will see everything."
        ),
    },
    "holding_after_hours": {
        "zh": (
            "抱歉，系统暂时有点忙，没能及时处理您的消息。您的消息已保存并转给人工客服，"
            "客服会在 {opens_at} 上班后尽快回复您。"
        ),
        "en": (
            "Sorry, our assistant is having trouble right now and could not answer in time. Your message is saved "
            "and has been passed to our customer service team, who will reply as soon as they are back at {opens_at}."
        ),
    },
    "handoff_queued": {
        "zh": (
            "好的，正在为您转接人工客服，请稍候。\n您目前排在第 {position} 位，预计等待约 {wait_minutes} 分钟。\n"
            "客服接入前，您可以继续在这里留言或发送图片，客服会看到全部内容。"
        ),
        "en": (
            "Of course, I'm connecting you with a member of our customer service team.\nYou are number {position} "
            "in the queue; the expected wait is about {wait_minutes} minutes.\nUntil they join, feel free to keep "
            "writing or send photos here: they will see everything."
        ),
    },
    "handoff_after_hours": {
        "zh": (
            "好的，已为您转接人工客服。\n现在不在人工客服服务时间内，我们的客服会在 {opens_at} 上班后尽快回复您。\n"
            "您可以先在这里留言或发送图片，客服会看到全部内容。"
        ),
        "en": (
            "Of course, I've passed your conversation to our customer service team.\nOur agents are not on duty "
            "right now; they will reply as soon as they are back at {opens_at}.\nFeel free to leave your message "
            "or photos here: they will see everything."
        ),
    },
    "handoff_still_queued": {
        "zh": (
            "已收到，您的消息会转给客服。"
            "您目前排在第 {position} 位，预计还需等待约 {wait_minutes} 分钟，感谢您的耐心。"
        ),
        "en": (
            "Got it, your message will be passed on. You are number {position} in the queue; the expected wait is "
            "about {wait_minutes} more minutes. Thank you for your patience."
        ),
    },
    "handoff_still_after_hours": {
        "zh": "已收到，您的消息会转给客服，客服会在 {opens_at} 上班后尽快回复您。",
        "en": "Got it, your message will be passed on; our team will reply as soon as they are back at {opens_at}.",
    },
    # A queued customer: leaving the queue (words or the button), acknowledgements, answers while waiting.
    "queue_leave_button": {"zh": "不用了，取消转人工", "en": "Never mind, leave the queue"},
    "queue_left": {
        "zh": "好的，已为您取消转人工。您回到了智能客服，有什么可以继续帮您？",
        "en": "OK, you have left the queue for an agent and are back with me, the assistant. What can I do for you?",
    },
    "queue_not_waiting": {
        "zh": "您目前没有在等待人工客服。有什么可以帮您？",
        "en": "You are not waiting for an agent right now. What can I do for you?",
    },
    "queue_ack": {
        "zh": "收到，客服接入后会看到这条消息。如不再需要人工客服，发送“不用了”即可。",
        "en": "Got it: our team will see this when they join. If you no longer need an agent, just say \"never mind\".",
    },
    "queue_reminder": {
        "zh": "（您仍在排队等待人工客服：第 {position} 位，预计约 {wait_minutes} 分钟。）",
        "en": "(You are still waiting for an agent: number {position} in the queue, about {wait_minutes} minutes.)",
    },
    "queue_reminder_after_hours": {
        "zh": "（您仍在等待人工客服，客服会在 {opens_at} 上班后回复您。）",
        "en": "(You are still waiting for an agent; our team will reply once they are back at {opens_at}.)",
    },
    # No staff group configured: no agent is promised, the company's phone and email are given instead.
    "handoff_unstaffed": {
        "zh": (
            "抱歉，目前在线人工客服暂不可用，我无法为您转接。\n"
            "如需人工帮助，请拨打客服电话 {phone}（每天 08:00–22:00），或发邮件至 {email}，我们会尽快回复。\n"
            "查件、投诉、预约取件等，您也可以继续直接告诉我。"
        ),
        "en": (
            "Sorry, our chat agents are not available here, so I can't pass you to a person.\nFor help from our team, "
            "call {phone} (08:00–22:00 every day) or email {email}; we will answer as soon as we can.\nFor tracking, "
            "complaints, pickups and more, just keep telling me here."
        ),
    },
    "holding_unstaffed": {
        "zh": (
            "抱歉，系统暂时有点忙，没能及时处理您的消息，请稍后再试。\n"
            "如需人工帮助，请拨打客服电话 {phone}（每天 08:00–22:00），或发邮件至 {email}。"
        ),
        "en": (
            "Sorry, our assistant is having trouble right now and could not answer in time; please try again in a "
            "moment.\nFor help from our team, call {phone} (08:00–22:00 every day) or email {email}."
        ),
    },
    "handoff_with_agent": {
        "zh": "客服 {agent} 正在为您服务，请直接在这里发送消息。",
        "en": "{agent} from our customer service team is with you: just write here.",
    },
    "handoff_agent_joined": {
        "zh": "您好，客服 {agent} 已接入，正在查看您的问题，请稍候。",
        "en": "Hello, {agent} from our customer service team has joined and is looking at your question.",
    },
    "handoff_transferred": {
        "zh": "您的会话已转交给客服 {agent}，对方会继续为您服务。",
        "en": "Your conversation has been passed to {agent}, who will continue to help you.",
    },
    "handoff_resolved_rate": {
        "zh": "本次人工服务已结束，感谢您的耐心！之后我会继续为您服务。\n请为本次人工服务打分（1 分最低，5 分最高）：",
        "en": (
            "This conversation with our team is now closed. Thank you for your patience! I'm back to help you.\n"
            "Please rate the help you received (1 = poor, 5 = excellent):"
        ),
    },
    "rating_thanks": {
        "zh": "感谢您的评分（{rating} 分）！如还有其他问题，请随时告诉我。",
        "en": "Thank you for your rating ({rating}/5)! If there is anything else, just let me know.",
    },
    "rating_done": {
        "zh": "这次服务已经评过分了，谢谢您！",
        "en": "This conversation has already been rated. Thank you!",
    },
    # ---------------------------------------------------------------- the human queue, staff side
    "staff_announce_failures": {
        "zh": (
            "⚠️ 机器人暂时无法回答（Rasa 或动作服务故障），{count} 位客户已转入人工队列：{ids}\n"
            "用 /queue 查看并接单。"
        ),
        "en": (
            "⚠️ The bot cannot answer right now (Rasa or the action server failed); {count} customers are in the "
            "human queue: {ids}\nUse /queue to see and claim them."
        ),
    },
    "staff_relay_failed": {
        "zh": "❗ 消息未能送达 #{id} 的客户（{reason}）。请稍后重发，或在队列中查看该会话。",
        "en": "❗ Your message could not be delivered to the customer of #{id} ({reason}). Please send it again later.",
    },
    "staff_relay_pending": {
        "zh": "⏳ 消息暂未送达 #{id} 的客户（Telegram 暂时无法投递），机器人会自动重试，送达后再通知您。",
        "en": "⏳ Your message to the customer of #{id} is not delivered yet (Telegram refused it for now); the bot "
        "retries it and tells you when it is delivered.",
    },
    "staff_relay_delivered": {
        "zh": "✅ 您之前未送达的消息已送达 #{id} 的客户。",
        "en": "✅ Your earlier message to the customer of #{id} is now delivered.",
    },
    "staff_relay_gave_up": {
        "zh": "❗ 多次重试后，您的消息仍未能送达 #{id} 的客户，已放弃。请确认后重新发送。",
        "en": "❗ Your message to the customer of #{id} could still not be delivered after retrying and was given up. "
        "Please check and send it again.",
    },
    "staff_outbox_gave_up": {
        "zh": (
            "❗ {count} 条发给客户的消息在 {minutes} 分钟内反复重试仍未送达（或被 Telegram 拒绝），已放弃。"
            "会话：{chats}"
        ),
        "en": "❗ {count} message(s) to customers could not be delivered (retried for up to {minutes} minutes, or "
        "refused by Telegram) and were given up. Chats: {chats}",
    },
    "staff_announce": {
        "zh": (
            "🆕 转人工 #{id}\n原因：{reason}\n客户：{customer}（等级 {tier}）· 语言：{language}\n"
            "优先级：{priority} · 请在 {due} 前接单\n{summary}"
        ),
        "en": (
            "🆕 Handoff #{id}\nReason: {reason}\nCustomer: {customer} (tier {tier}) · language: {language}\n"
            "Priority: {priority} · claim by {due}\n{summary}"
        ),
    },
    "staff_reannounce": {
        "zh": (
            "⏰ 提醒：转人工 #{id} 已等待 {minutes} 分钟，仍无人接单！\n"
            "原因：{reason} · 优先级：{priority}\n{summary}"
        ),
        "en": (
            "⏰ Reminder: handoff #{id} has been waiting {minutes} minutes and nobody has claimed it!\n"
            "Reason: {reason} · priority: {priority}\n{summary}"
        ),
    },
    "staff_claim_button": {"zh": "接单", "en": "Claim"},
    "staff_claimed_by": {
        "zh": "✅ 转人工 #{id} 已由 {agent} 接单。\n原因：{reason} · 语言：{language}",
        "en": "✅ Handoff #{id} has been claimed by {agent}.\nReason: {reason} · language: {language}",
    },
    "staff_customer_withdrew": {
        "zh": "↩️ 转人工 #{id} 的客户已取消转人工：会话已关闭，交回机器人。",
        "en": "↩️ The customer of handoff #{id} no longer needs an agent: it is closed and back with the bot.",
    },
    "staff_withdrawn_group": {
        "zh": "↩️ 转人工 #{id}：客户已取消转人工，无需接单。",
        "en": "↩️ Handoff #{id}: the customer left the queue; nothing to claim.",
    },
    "staff_resolved_group": {
        "zh": "☑️ 转人工 #{id} 已由 {agent} 处理完毕。",
        "en": "☑️ Handoff #{id} was resolved by {agent}.",
    },
    "staff_claim_won": {
        "zh": "您已接单 #{id}，请在与我的私聊中回复客户。",
        "en": "Handoff #{id} is yours: reply to the customer in your private chat with me.",
    },
    "staff_claim_taken": {"zh": "#{id} 已由 {agent} 接单。", "en": "#{id} has already been claimed by {agent}."},
    "staff_claim_resolved": {"zh": "#{id} 已处理完毕。", "en": "#{id} has already been resolved."},
    "staff_claim_not_staff": {
        "zh": "抱歉，只有登记的客服人员才能接单。",
        "en": "Sorry, only registered staff can claim conversations.",
    },
    "staff_no_private_chat": {
        "zh": "您已接单 #{id}，但我无法私信您：请先打开与我的私聊并发送 /start。",
        "en": "Handoff #{id} is yours, but I can't message you: please open a private chat with me and send /start.",
    },
    "staff_handover": {
        "zh": (
            "🎧 您已接入会话 #{id}\n客户：{customer}（等级 {tier}）· 语言：{language}\n原因：{reason}\n{summary}\n\n"
            "您在这里发送的文字和图片会转给客户。命令：/profile 客户资料 · /note 内容 内部备注 · "
            "/transfer 用户ID 转交 · /resolve [意图] 结束 · /queue 排队列表"
        ),
        "en": (
            "🎧 You now have conversation #{id}\nCustomer: {customer} (tier {tier}) · language: {language}\n"
            "Reason: {reason}\n{summary}\n\nWhat you send here (text, photos) goes to the customer. Commands: "
            "/profile customer profile · /note text internal note · /transfer user-id hand over · "
            "/resolve [intent] close · /queue waiting list"
        ),
    },
    "staff_start": {
        "zh": (
            "{name}，您好！您是{brand}的客服人员。客户转人工时，员工群里会出现带“接单”按钮的通知；"
            "接单后，客户的消息会转到这里，您在这里的回复会转给客户。\n您可以使用的命令：\n{commands}"
        ),
        "en": (
            "Hello {name}, you are on the {brand} staff. When a customer asks for a person, the staff group gets a "
            "notice with a Claim button; once you claim it, the customer's messages come here and your replies "
            "here go to the customer.\nYour commands:\n{commands}"
        ),
    },
    "staff_customer_unlinked": {
        "zh": "{name}（Telegram {chat}，未验证手机号）",
        "en": "{name} (Telegram {chat}, phone not verified)",
    },
    "staff_notes_header": {"zh": "内部备注：\n{notes}", "en": "Internal notes:\n{notes}"},
    "staff_resolve_button": {"zh": "结束会话", "en": "Resolve"},
    "staff_profile_button": {"zh": "客户资料", "en": "Profile"},
    "staff_customer_header": {"zh": "💬 #{id} {customer}：", "en": "💬 #{id} {customer}:"},
    "staff_no_conversation": {
        "zh": "您当前没有进行中的会话。发送 /queue 查看排队列表，在员工群里点击“接单”接入会话。",
        "en": "You have no conversation right now. Send /queue to see who is waiting; press Claim in the staff group.",
    },
    "staff_private_only": {
        "zh": "为保护客户隐私，请在与我的私聊中使用这个命令。",
        "en": "To protect customers' privacy, please use this command in your private chat with me.",
    },
    "staff_note_usage": {"zh": "用法：/note 备注内容", "en": "Usage: /note your note"},
    "staff_note_saved": {
        "zh": "📝 已为 #{id} 添加内部备注（客户看不到）。",
        "en": "📝 Note added to #{id} (not shown to the customer).",
    },
    "staff_transfer_usage": {
        "zh": "用法：/transfer 对方的 Telegram 用户ID",
        "en": "Usage: /transfer <Telegram user id>",
    },
    "staff_transfer_unknown": {
        "zh": "找不到这个在职的客服人员，请核对用户ID。",
        "en": "There is no active staff member with that user id.",
    },
    "staff_transfer_same": {"zh": "这个会话已经由对方负责。", "en": "That person already has this conversation."},
    "staff_transferred": {"zh": "#{id} 已转交给 {agent}。", "en": "#{id} has been handed over to {agent}."},
    "staff_resolved": {
        "zh": "☑️ #{id} 已结束，已交还机器人并请客户评分。可选：请标记客户真正想办的事（用于改进机器人）：",
        "en": (
            "☑️ #{id} is resolved, back with the bot, and the customer was asked for a rating. Optionally tag what "
            "the customer really wanted (this improves the bot):"
        ),
    },
    "staff_resolved_tagged": {
        "zh": "☑️ #{id} 已结束并标记为 {intent}，已交还机器人并请客户评分。",
        "en": (
            "☑️ #{id} is resolved and tagged {intent}; it is back with the bot"
            " and the customer was asked for a rating."
        ),
    },
    "staff_tagged": {"zh": "#{id} 已标记为 {intent}，谢谢！", "en": "#{id} tagged {intent}, thank you!"},
    "staff_unknown_intent": {
        "zh": "未知的意图。可用：{intents}",
        "en": "Unknown intent. Known intents: {intents}",
    },
    "staff_not_yours": {"zh": "这个会话不是由您负责的。", "en": "That conversation is not yours."},
    # ---------------------------------------------------------------- the learning loop (/tag, /review)
    "staff_tag_usage": {
        "zh": "用法：/tag 意图名 —— 给您当前（或刚结束的）会话中客户最新的一条消息标注真正的意图。可用意图：{intents}",
        "en": (
            "Usage: /tag <intent> tags the customer's latest message in your current (or just resolved) "
            "conversation with what they really meant. Intents: {intents}"
        ),
    },
    "staff_tag_unknown_intent": {
        "zh": "没有“{intent}”这个意图。可用意图：{intents}",
        "en": "There is no intent “{intent}”. Valid intents: {intents}",
    },
    "staff_tag_saved": {
        "zh": "✓ #{id} 客户消息“{text}”已标注为 {intent}，谢谢！管理员审核后会用于训练。",
        "en": (
            "✓ #{id}: the customer's message “{text}” is tagged {intent}, thank you! "
            "An admin reviews it for training."
        ),
    },
    "staff_tag_no_message": {
        "zh": "这个会话里还没有客户的文字消息可以标注。",
        "en": "There is no customer text in this conversation to tag yet.",
    },
    # Said to anyone on the staff who is not an admin, whatever the staff language: both languages at once.
    "review_admin_only": {
        "zh": "抱歉，只有管理员可以标注训练数据。\nSorry, only admins can label training data.",
        "en": "抱歉，只有管理员可以标注训练数据。\nSorry, only admins can label training data.",
    },
    "review_empty": {"zh": "✓ 没有待标注的消息了。", "en": "✓ Nothing left to label."},
    "review_group": {
        "zh": (
            "📝 待标注 {index}/{total} · {count} 条消息 · 原因：{reasons}\n{texts}\n"
            "模型猜测：{guess}（置信度 {confidence}）"
        ),
        "en": (
            "📝 To label {index}/{total} · {count} messages · why: {reasons}\n{texts}\n"
            "Model's guess: {guess} (confidence {confidence})"
        ),
    },
    "review_labelled": {"zh": "✓ 已将 {count} 条消息标注为 {intent}。", "en": "✓ {count} messages labelled {intent}."},
    "review_gone": {"zh": "这组消息已经被标注过了。", "en": "That group has already been labelled."},
    "review_stopped": {
        "zh": "好的，先标到这里。发送 /review 继续。",
        "en": "OK, stopping here. Send /review to go on.",
    },
    "review_skip_button": {"zh": "⏭ 跳过", "en": "⏭ Skip"},
    "review_all_button": {"zh": "☰ 全部意图", "en": "☰ All intents"},
    "review_stop_button": {"zh": "⏹ 结束", "en": "⏹ Stop"},
    # ---------------------------------------------------------------- the model desk (/retrain, /rollback)
    # Like review_admin_only: both languages at once, whatever the staff language.
    "model_admin_only": {
        "zh": "抱歉，只有管理员可以重新训练、上线或回滚模型。\nSorry, only admins can retrain, promote or roll back "
        "the model.",
        "en": "抱歉，只有管理员可以重新训练、上线或回滚模型。\nSorry, only admins can retrain, promote or roll back "
        "the model.",
    },
    "model_progress": {
        "zh": "🔄 重新训练（{actor}，{started} 开始）\n{stages}",
        "en": "🔄 Retraining (started by {actor} at {started})\n{stages}",
    },
    "model_stage_export": {"zh": "导出标注数据", "en": "Exporting the labelled data"},
    "model_stage_train": {
        "zh": "训练候选模型（首次需几分钟）", "en": "Training the candidate (minutes the first time)",
    },
    "model_stage_score": {"zh": "在评估集上给两个模型打分", "en": "Scoring both models on the held-out set"},
    "model_stage_gate": {"zh": "上线门槛", "en": "The gate"},
    "model_busy": {
        "zh": "⏳ 已经有一次重新训练在进行（{actor}，{started} 开始）。一次只能训练一个，请等它完成。",
        "en": "⏳ A retrain is already running (started by {actor} at {started}). One at a time: please wait for it.",
    },
    "model_failed": {"zh": "✗ 重新训练失败：{reason}", "en": "✗ The retrain failed: {reason}"},
    "model_already_live": {
        "zh": "✓ 训练数据没有变化：{version} 已经在线上，无需操作。",
        "en": "✓ The training data has not changed: {version} is already live, nothing to do.",
    },
    "model_exported": {
        "zh": "已导出 {written} 条例句（{conflicts} 条冲突未写入）。",
        "en": "Exported {written} examples ({conflicts} conflicts left out).",
    },
    "model_gate_passed": {
        "zh": "✓ 门槛通过：候选模型不比线上模型差。要上线吗？",
        "en": "✓ Gate passed: the candidate is no worse than the live model. Promote it?",
    },
    "model_gate_failed": {
        "zh": "✗ 门槛未通过：候选模型已被拒绝，线上模型不变。",
        "en": "✗ Gate failed: the candidate is rejected; the live model stays.",
    },
    "model_gate_header": {
        "zh": "候选 {candidate} 对比线上 {live}（任何意图的 F1 最多可降 {margin} 分）\n指标：线上 → 候选（Δ）",
        "en": "Candidate {candidate} against live {live} (no intent may lose more than {margin} F1 points)\n"
        "measure: live → candidate (Δ)",
    },
    "model_gate_accuracy": {"zh": "准确率", "en": "accuracy"},
    "model_gate_unchanged": {
        "zh": "（另有 {count} 个意图的 F1 没有变化，未列出）",
        "en": "({count} more intents with unchanged F1 not listed)",
    },
    "model_promote_button": {"zh": "🚀 上线", "en": "🚀 Promote"},
    "model_keep_button": {"zh": "✋ 保留当前模型", "en": "✋ Keep current"},
    "model_switching": {"zh": "⏳ 正在切换模型……", "en": "⏳ Switching the model…"},
    "model_promoted": {
        "zh": "✓ {actor} 已上线 {version}（替换 {replaced}）。{where}",
        "en": "✓ {actor} promoted {version} (replacing {replaced}). {where}",
    },
    "model_switched": {"zh": "正在运行的 Rasa 已切换到它。", "en": "The running Rasa now serves it."},
    "model_not_switched": {
        "zh": "Rasa 没有在运行：下次启动时使用它。",
        "en": "Rasa is not running: it serves this model when it next starts.",
    },
    "model_kept": {
        "zh": "✓ {actor} 保留了当前模型 {live}。候选 {version} 仍留在登记册中（parceldesk learn promote 可上线）。",
        "en": "✓ {actor} kept the current model {live}. Candidate {version} stays registered "
        "(parceldesk learn promote can still make it live).",
    },
    "model_rollback_offer": {
        "zh": "↩️ 回滚模型？\n当前：{live}（准确率 {live_accuracy}，{live_promoted} 由 {live_by} 上线）\n"
        "回滚到：{target}（准确率 {target_accuracy}，上次由 {target_by} 于 {target_promoted} 上线）",
        "en": "↩️ Roll the model back?\nNow live: {live} (accuracy {live_accuracy}, promoted {live_promoted} by "
        "{live_by})\nBack to: {target} (accuracy {target_accuracy}, last promoted {target_promoted} by {target_by})",
    },
    "model_rollback_button": {"zh": "↩️ 确认回滚", "en": "↩️ Roll back"},
    "model_cancel_button": {"zh": "取消", "en": "Cancel"},
    "model_rolled_back": {
        "zh": "✓ {actor} 已回滚：{live} 重新上线，{replaced} 已下线。{where}",
        "en": "✓ {actor} rolled back: {live} is live again, {replaced} is retired. {where}",
    },
    "model_rollback_cancelled": {"zh": "好的，不回滚。", "en": "OK, no rollback."},
    "model_interrupted": {
        "zh": "⚠️ 这次重新训练被机器人重启打断了，没有任何改变。请重新发送 /retrain。",
        "en": "⚠️ This retrain was interrupted by a restart of the bot; nothing changed. Send /retrain again.",
    },
    # Refusals of learning.retrain (LearningError.key), in the staff language.
    "model_refused_nothing_live": {
        "zh": "还没有上线的模型，无法回滚。", "en": "No model is live yet, so there is nothing to roll back.",
    },
    "model_refused_no_previous": {
        "zh": "{version} 是唯一上线过的模型，没有可回滚的版本。",
        "en": "{version} is the only model ever promoted: there is nothing to roll back to.",
    },
    "model_refused_live_changed": {
        "zh": "门槛运行之后线上模型已经变了（现在是 {live}），这个结果已过时。请重新 /retrain。",
        "en": "The live model changed since this gate ran (now {live}): the result is stale. Send /retrain again.",
    },
    "model_refused_rejected": {
        "zh": "{version} 未通过门槛，不能上线。", "en": "{version} failed the gate and cannot go live.",
    },
    "model_refused_not_candidate": {
        "zh": "{version} 已经不是候选模型了（现在：{status}）。",
        "en": "{version} is no longer a candidate (now: {status}).",
    },
    "model_refused_rollback_changed": {
        "zh": "模型在此期间已经变了（现在线上：{live}）。请重新发送 /rollback。",
        "en": "The models changed meanwhile (live now: {live}). Send /rollback again.",
    },
    "model_refused_model_file_gone": {
        "zh": "{version} 的模型文件不见了（缓存被清理？），请重新训练。",
        "en": "The model file of {version} is gone (cache cleared?); retrain it.",
    },
    "model_refused_live_file_gone": {
        "zh": "线上模型 {version} 的文件不见了（缓存被清理？）：请先 /rollback 或重新训练它。",
        "en": "The live model {version}'s file is gone (cache cleared?): /rollback or retrain it first.",
    },
    "model_refused_no_heldout": {
        "zh": "没有评估集（nlu/eval），无法把关。", "en": "No held-out set (nlu/eval) to gate on.",
    },
    "model_refused_unknown_model": {"zh": "登记册里没有这个模型。", "en": "That model is not in the registry."},
    # /help for staff: what their role may use (sent after the customer help).
    "staff_help": {
        "zh": (
            "👥 员工命令：/queue 排队中的会话 · /profile 客户资料 · /note 备注 · /transfer 转交 · /resolve 结束会话"
            " · /tag 标注客户的意思 · /complaints 投诉工单 · /report 投诉报表"
        ),
        "en": (
            "👥 Staff commands: /queue waiting conversations · /profile customer profile · /note add a note · "
            "/transfer hand over · /resolve close the conversation · /tag say what the customer meant · "
            "/complaints complaint tickets · /report complaint report"
        ),
    },
    "staff_help_admin": {
        "zh": (
            "🛠 管理员：/staff 员工与角色 · /review 标注训练数据 · /retrain 导出标注并在后台训练候选模型，"
            "门槛通过后可一键上线 · /rollback 回滚到上一个模型"
        ),
        "en": (
            "🛠 Admins: /staff staff and roles · /review label training data · /retrain export the labels and train "
            "a candidate in the background, promote it with one button if it passes the gate · /rollback go back "
            "to the previous model"
        ),
    },
    "staff_no_such_escalation": {"zh": "找不到这个会话。", "en": "There is no such conversation."},
    "staff_already_resolved": {"zh": "这个会话已经结束了。", "en": "That conversation is already resolved."},
    "staff_next_conversation": {
        "zh": "您现在的会话是 #{id}（{customer}）。",
        "en": "Your current conversation is now #{id} ({customer}).",
    },
    "staff_queue_header": {"zh": "📋 排队中（{count}）：", "en": "📋 Waiting ({count}):"},
    "staff_queue_line": {
        "zh": "{position}. #{id} · 优先级 {score} · 已等待 {minutes} 分钟 · {reason} · {lang}",
        "en": "{position}. #{id} · priority {score} · waiting {minutes} min · {reason} · {lang}",
    },
    "staff_queue_empty": {"zh": "📋 目前没有排队的会话。", "en": "📋 Nobody is waiting."},
    "staff_queue_claimed_header": {"zh": "🎧 处理中（{count}）：", "en": "🎧 In progress ({count}):"},
    "staff_queue_claimed_line": {
        "zh": "#{id} · {agent} · 已接单 {minutes} 分钟",
        "en": "#{id} · {agent} · claimed {minutes} min ago",
    },
    "staff_profile": {
        "zh": (
            "👤 会话 #{id} 的客户资料\n{customer}\nRFM 等级：{tier}（R{r} F{f} M{m}；近一年 {count} 票，{spent} 元）\n"
            "以往转人工：{past} 次\n最近的快递：\n{shipments}\n投诉：\n{complaints}"
        ),
        "en": (
            "👤 Customer profile for #{id}\n{customer}\nRFM tier: {tier} (R{r} F{f} M{m}; {count} shipments, "
            "{spent} yuan in the last year)\nEarlier handoffs: {past}\nRecent shipments:\n{shipments}\n"
            "Complaints:\n{complaints}"
        ),
    },
    "staff_profile_not_yours": {
        "zh": "🔒 会话 #{id}：只有正在处理该会话的客服（或主管、经理、管理员）可以查看这位客户的资料。"
        "此次查看请求已记录。",
        "en": "🔒 Conversation #{id}: only the agent handling it (or a supervisor, manager or admin) may see this "
        "customer's profile. This request has been recorded.",
    },
    "staff_profile_unknown": {
        "zh": "👤 会话 #{id}：这位客户还没有绑定客户档案（未知客户）。以往转人工：{past} 次。",
        "en": "👤 Conversation #{id}: this customer is not linked to a customer record yet. Earlier handoffs: {past}.",
    },
    "staff_none": {"zh": "（无）", "en": "(none)"},
    "staff_remind_agent": {
        "zh": "⏰ 会话 #{id} 的客户已等待您的首次回复 {minutes} 分钟，请尽快回复。",
        "en": "⏰ The customer in #{id} has been waiting {minutes} minutes for your first reply: please answer.",
    },
    "staff_alert_claim": {
        "zh": "🚨 主管请注意：转人工 #{id} 已等待 {minutes} 分钟仍无人接单。\n{summary}",
        "en": "🚨 Supervisors: handoff #{id} has been waiting {minutes} minutes and nobody has claimed it.\n{summary}",
    },
    "staff_alert_reply": {
        "zh": "🚨 主管请注意：会话 #{id} 由 {agent} 接单后 {minutes} 分钟仍未回复客户。",
        "en": "🚨 Supervisors: #{id} was claimed by {agent} but the customer has had no reply for {minutes} minutes.",
    },
    "staff_alert_group_suffix": {"zh": "已通知：{names}", "en": "Notified: {names}"},
    "staff_admin_only": {"zh": "只有管理员可以管理员工角色。", "en": "Only admins can manage staff roles."},
    "staff_admin_usage": {
        "zh": (
            "用法：/staff list · /staff add 用户ID 角色(agent/supervisor/manager/admin) [姓名] · "
            "/staff remove 用户ID"
        ),
        "en": (
            "Usage: /staff list · /staff add <user id>"
            " <agent|supervisor|manager|admin> [name] · /staff remove <user id>"
        ),
    },
    "staff_role_set": {"zh": "✓ {name}（{user}）现在是 {role}。", "en": "✓ {name} ({user}) is now {role}."},
    "staff_last_admin": {
        "zh": "不能这样做：这是最后一位管理员。请先任命另一位管理员。",
        "en": "Not possible: this is the last admin. Make someone else an admin first.",
    },
    "staff_removed": {"zh": "✓ {user} 已停用。", "en": "✓ {user} has been deactivated."},
    "staff_unknown_member": {"zh": "没有这个员工。", "en": "There is no such staff member."},
    "staff_list_header": {"zh": "员工：", "en": "Staff:"},
    # ---------------------------------------------------------------- the complaint desk, customer side
    "complaint_outcome_resolved": {
        "zh": "关于您的投诉 {code}（{category}）：\n处理结果：{result}{compensation}\n\n请问您的问题解决了吗？",
        "en": "About your complaint {code} ({category}):\nOutcome: {result}{compensation}\n\nIs your problem resolved?",
    },
    "complaint_outcome_compensation": {"zh": "\n补偿：{amount} 元", "en": "\nCompensation: {amount} yuan"},
    "complaint_outcome_rejected": {
        "zh": (
            "关于您的投诉 {code}（{category}）：经核实，这项投诉未能成立。\n原因：{result}\n"
            "如有疑问，可以回复“转人工”联系客服。"
        ),
        "en": (
            "About your complaint {code} ({category}): after checking, we could not uphold it.\nReason: {result}\n"
            "If you have questions, just ask for a person."
        ),
    },
    "complaint_yes_button": {"zh": "✅ 已解决", "en": "✅ Yes, resolved"},
    "complaint_no_button": {"zh": "❌ 没有解决", "en": "❌ No, not resolved"},
    "complaint_confirmed": {
        "zh": "感谢您的确认！投诉 {code} 已结案。如还有其他问题，请随时告诉我。",
        "en": "Thank you for confirming! Complaint {code} is now closed. If there is anything else, just let me know.",
    },
    "complaint_reopened": {
        "zh": (
            "很抱歉问题还没有解决。投诉 {code} 已重新打开，处理人员会在 {due} 前答复您。\n"
            "请在下一条消息里告诉我们还有什么问题（也可以发照片），我们会转给处理人员。"
        ),
        "en": (
            "We're sorry it is not resolved yet. Complaint {code} is open again and the case handler will answer "
            "by {due}.\nPlease tell us in your next message what is still wrong (a photo is fine too); we will "
            "pass it on."
        ),
    },
    "complaint_words_received": {
        "zh": "收到，已转给投诉 {code} 的处理人员，请耐心等待答复。",
        "en": "Thank you, this has been passed to the handler of complaint {code}. We will get back to you.",
    },
    "complaint_answer_done": {
        "zh": "这项投诉已经答复过了，谢谢！",
        "en": "This complaint has already been answered. Thank you!",
    },
    "complaint_staff_message": {
        "zh": "关于您的投诉 {code}，客服留言：\n{text}",
        "en": "A message from our team about your complaint {code}:\n{text}",
    },
    # ---------------------------------------------------------------- the complaint desk, staff side
    "desk_list_header": {
        "zh": "📋 未结投诉（{filter}）：共 {total} 件，按紧急程度显示前 {shown} 件。点击查看详情：",
        "en": "📋 Open complaints ({filter}): {total} in all, the {shown} most urgent shown. Tap one for its card:",
    },
    "desk_list_empty": {"zh": "📋 没有符合条件的未结投诉（{filter}）。", "en": "📋 No open complaints ({filter})."},
    "desk_filter_all": {"zh": "全部", "en": "all"},
    "desk_filter_mine": {"zh": "我的", "en": "mine"},
    "desk_filter_unassigned": {"zh": "未分配", "en": "unassigned"},
    "desk_overdue": {"zh": "已超时 {hours} 小时", "en": "overdue {hours} h"},
    "desk_due_in": {"zh": "{hours} 小时后到期", "en": "due in {hours} h"},
    "desk_unassigned": {"zh": "未分配", "en": "unassigned"},
    "desk_serious": {"zh": "·严重", "en": " · serious"},
    "desk_usage": {
        "zh": (
            "用法：/complaints [mine|unassigned|delay|damage|loss|wrong_delivery|courier_conduct|billing]，"
            "或 /complaints C-1042 查看一张投诉单。"
        ),
        "en": (
            "Usage: /complaints [mine|unassigned|delay|damage|loss|wrong_delivery|courier_conduct|billing], "
            "or /complaints C-1042 for one ticket."
        ),
    },
    "desk_card": {
        "zh": (
            "📝 投诉 {code} · {category}{serious} · {status}\n提交：{created} · 到期：{due}{overdue}\n"
            "处理人：{assignee}{reopened}\n\n客户：{customer}\n以往投诉：{past}\n\n描述：{description}\n{outcome}\n"
            "📦 {parcel}\n{timeline}\n\n记录：\n{history}"
        ),
        "en": (
            "📝 Complaint {code} · {category}{serious} · {status}\nFiled: {created} · due: {due}{overdue}\n"
            "Handler: {assignee}{reopened}\n\nCustomer: {customer}\nEarlier complaints: {past}\n\n"
            "Description: {description}\n{outcome}\n📦 {parcel}\n{timeline}\n\nHistory:\n{history}"
        ),
    },
    "desk_card_customer": {
        "zh": "{name} · {code} · {city} · 等级 {tier}（近一年 {shipments} 票）",
        "en": "{name} · {code} · {city} · tier {tier} ({shipments} shipments in the last year)",
    },
    "desk_card_outcome": {
        "zh": "结果：{result}{compensation}{answer}\n",
        "en": "Outcome: {result}{compensation}{answer}\n",
    },
    "desk_card_compensation": {"zh": "（补偿 {amount} 元）", "en": " (compensation {amount} yuan)"},
    "desk_card_satisfied": {"zh": " · 客户确认已解决", "en": " · the customer confirmed"},
    "desk_card_unsatisfied": {"zh": " · 客户表示未解决", "en": " · the customer said not resolved"},
    "desk_card_reopened": {"zh": " · 重开 {count} 次", "en": " · reopened {count}×"},
    "desk_card_no_parcel": {"zh": "（无关联包裹）", "en": "(no parcel)"},
    "desk_card_unknown_customer": {"zh": "（未关联客户档案）", "en": "(no customer record)"},
    "desk_take_button": {"zh": "🙋 接手", "en": "🙋 Take"},
    "desk_note_button": {"zh": "📝 备注", "en": "📝 Note"},
    "desk_message_button": {"zh": "✉️ 联系客户", "en": "✉️ Message customer"},
    "desk_resolve_button": {"zh": "☑️ 解决", "en": "☑️ Resolve"},
    "desk_reject_button": {"zh": "🚫 驳回", "en": "🚫 Reject"},
    "desk_list_button": {"zh": "📋 列表", "en": "📋 List"},
    "desk_cancel_button": {"zh": "取消", "en": "Cancel"},
    "desk_no_amount_button": {"zh": "无补偿", "en": "No compensation"},
    "desk_take_won": {"zh": "您已接手投诉 {code}。", "en": "Complaint {code} is yours."},
    "desk_take_taken": {"zh": "{code} 已由 {agent} 接手。", "en": "{code} has already been taken by {agent}."},
    "desk_take_closed": {"zh": "{code} 已经结束了。", "en": "{code} is already closed."},
    "desk_prompt_note": {
        "zh": "请发送 {code} 的内部备注（客户看不到）：",
        "en": "Send the internal note for {code} (the customer does not see it):",
    },
    "desk_prompt_message": {
        "zh": "请发送要转给 {code} 客户的消息（最多 {limit} 字，会以{language}的抬头发出）：",
        "en": "Send the message for the customer of {code} (at most {limit} characters; it goes out with a header "
        "in {language}):",
    },
    "desk_prompt_resolve": {
        "zh": "请发送 {code} 的处理结果（会原文告诉客户）：",
        "en": "Send the outcome of {code} (the customer is told it as written):",
    },
    "desk_prompt_amount": {
        "zh": "如有补偿，请发送金额（元），例如 50；没有补偿请点“无补偿”。",
        "en": "If there is compensation, send the amount in yuan, e.g. 50; otherwise press “No compensation”.",
    },
    "desk_prompt_reject": {
        "zh": "请发送驳回 {code} 的原因（会告诉客户）：",
        "en": "Send the reason for rejecting {code} (the customer is told it):",
    },
    "desk_bad_amount": {
        "zh": "请发送一个金额（例如 50 或 50.5），或点“无补偿”。",
        "en": "Please send an amount (e.g. 50 or 50.5), or press “No compensation”.",
    },
    "desk_text_only": {"zh": "请用文字回复（或点“取消”）。", "en": "Please answer in text (or press Cancel)."},
    "desk_too_long": {
        "zh": "消息太长（超过 {limit} 字），请缩短后再发。",
        "en": "That is too long (over {limit} characters); please shorten it.",
    },
    "desk_cancelled": {"zh": "已取消。", "en": "Cancelled."},
    "desk_nothing_to_cancel": {"zh": "没有需要取消的操作。", "en": "There is nothing to cancel."},
    "desk_note_saved": {"zh": "📝 已为 {code} 添加内部备注。", "en": "📝 Note added to {code}."},
    "desk_message_sent": {"zh": "✉️ 已发给 {code} 的客户。", "en": "✉️ Sent to the customer of {code}."},
    "desk_message_failed": {
        "zh": "未能发给 {code} 的客户（对方可能已停用机器人）。",
        "en": "Could not reach the customer of {code} (they may have blocked the bot).",
    },
    "desk_resolved": {
        "zh": "☑️ {code} 已解决。处理结果会告诉客户，并请客户确认是否解决。",
        "en": "☑️ {code} is resolved. The customer is told the outcome and asked whether it is resolved.",
    },
    "desk_rejected": {
        "zh": "🚫 {code} 已驳回，原因会告诉客户。",
        "en": "🚫 {code} is rejected; the customer is told why.",
    },
    "desk_reopened_alert": {
        "zh": "🔁 客户表示投诉 {code} 没有解决，已重新打开，请在 {due} 前答复。",
        "en": "🔁 The customer says complaint {code} is not resolved: it is open again, due by {due}.",
    },
    "desk_customer_words": {"zh": "💬 {code} 客户补充：\n{text}", "en": "💬 The customer of {code} adds:\n{text}"},
    "desk_due_reminder": {
        "zh": "⏰ 投诉 {code}（{category}{serious}）将于 {due} 到期，请尽快处理。/complaints {code}",
        "en": "⏰ Complaint {code} ({category}{serious}) is due at {due}: please deal with it. /complaints {code}",
    },
    "desk_due_unassigned": {
        "zh": "⏰ 投诉 {code}（{category}{serious}）将于 {due} 到期，仍无人接手。",
        "en": "⏰ Complaint {code} ({category}{serious}) is due at {due} and nobody has taken it.",
    },
    "desk_due_alert": {
        "zh": "🚨 主管请注意：投诉 {code}（{category}{serious}）已于 {due} 超时未结，处理人：{assignee}。",
        "en": "🚨 Supervisors: complaint {code} ({category}{serious}) passed its due time {due} unresolved; "
        "handler: {assignee}.",
    },
    "complaint_unknown": {"zh": "找不到这个投诉。", "en": "There is no such complaint."},
    "desk_card_not_yours": {
        "zh": "🔒 投诉 {code}：只有负责人（或主管、经理、管理员）可以查看；无人负责的未结投诉任何客服都可以查看并接手。"
        "此次查看请求已记录。",
        "en": "🔒 Complaint {code}: only its handler (or a supervisor, manager or admin) may open it; open complaints "
        "nobody has taken are open to every agent, to take. This request was recorded.",
    },
    "complaint_not_yours": {"zh": "这个投诉由别人负责。", "en": "Someone else handles that complaint."},
    "complaint_take_first": {"zh": "请先接手这个投诉。", "en": "Please take the complaint first."},
    "complaint_not_open": {"zh": "这个投诉已经结束了。", "en": "That complaint is already closed."},
    "complaint_taken": {"zh": "这个投诉已有人负责。", "en": "Someone already handles that complaint."},
    "complaint_unknown_staff": {"zh": "没有这个在职员工。", "en": "There is no such active staff member."},
    "complaint_no_chat": {
        "zh": "无法联系这位客户（没有 Telegram 会话）。",
        "en": "This customer cannot be reached (no Telegram chat).",
    },
    "complaint_text_empty": {"zh": "内容不能为空。", "en": "The text must not be empty."},
    "complaint_bad_amount": {"zh": "补偿金额无效。", "en": "That compensation amount is not valid."},
    # ---------------------------------------------------------------- the complaint report
    "report_managers_only": {
        "zh": "只有经理和管理员可以查看投诉报告。",
        "en": "Only managers and admins can see the complaint report.",
    },
    "report_usage": {
        "zh": "用法：/report [category|city|station|courier|week] [天数，默认 30]",
        "en": "Usage: /report [category|city|station|courier|week] [days, default 30]",
    },
    "report_summary": {
        "zh": (
            "📊 投诉报告（{since} 至 {until}，按{by}）\n投诉量：{total}（未结 {open}，超时 {overdue}）\n"
            "原因占比：{reasons}\n解决用时中位数：{median} 小时\n"
            "解决后满意度：{satisfaction}（共 {answered} 次答复）\n"
            "前几位：\n{top}"
        ),
        "en": (
            "📊 Complaint report ({since} to {until}, by {by})\nVolume: {total} ({open} open, {overdue} overdue)\n"
            "Share by reason: {reasons}\nMedian time to resolve: {median} h\nSatisfaction after resolution: "
            "{satisfaction} (of {answered} answers)\nTop:\n{top}"
        ),
    },
    "report_weekly_header": {"zh": "📅 每周投诉汇总", "en": "📅 Weekly complaint summary"},
    "button_expired": {
        "zh": "这个按钮已失效，请直接发送您的问题。",
        "en": "This button has expired; please type your question instead.",
    },
    # ---------------------------------------------------------------- proactive care (bot/notices.py)
    # Status only, like public tracking; owners get one more line (notice_owner_line).
    "notice_delayed": {
        "zh": (
            "⏰ 延误提醒：包裹 {tracking_number} 延误了，非常抱歉。\n原因：{reason}\n"
            "最新动态：{last_scan_time} {last_scan_place}，{last_scan_label}\n新的预计送达：{eta}"
        ),
        "en": (
            "⏰ Delay: we're sorry, parcel {tracking_number} is delayed.\nReason: {reason}\n"
            "Latest update: {last_scan_label}, {last_scan_place}, {last_scan_time}\nNew expected delivery: {eta}"
        ),
    },
    "notice_exception": {
        "zh": (
            "⚠️ 包裹 {tracking_number} 出现异常，我们正在处理。\n原因：{reason}\n"
            "最新动态：{last_scan_time} {last_scan_place}，{last_scan_label}"
        ),
        "en": (
            "⚠️ There is a problem with parcel {tracking_number}; we are working on it.\nReason: {reason}\n"
            "Latest update: {last_scan_label}, {last_scan_place}, {last_scan_time}"
        ),
    },
    "notice_out_for_delivery": {
        "zh": (
            "🚚 包裹 {tracking_number} 正在派送中，请保持电话畅通。\n"
            "最新动态：{last_scan_time} {last_scan_place}，{last_scan_label}"
        ),
        "en": (
            "🚚 Parcel {tracking_number} is out for delivery: please keep your phone nearby.\n"
            "Latest update: {last_scan_label}, {last_scan_place}, {last_scan_time}"
        ),
    },
    "notice_delivered": {
        "zh": (
            "✅ 包裹 {tracking_number} 已签收（{eta}，{last_scan_place}）。\n"
            "如您并未收到，请告诉我们，我们会立即核实。"
        ),
        "en": (
            "✅ Parcel {tracking_number} has been delivered ({eta}, {last_scan_place}).\n"
            "If it did not reach you, tell us and we will look into it right away."
        ),
    },
    "notice_returned": {
        "zh": "↩️ 包裹 {tracking_number} 已退回寄件人。\n原因：{reason}\n最新动态：{last_scan_time} {last_scan_place}",
        "en": (
            "↩️ Parcel {tracking_number} has been returned to the sender.\nReason: {reason}\n"
            "Latest update: {last_scan_place}, {last_scan_time}"
        ),
    },
    "notice_owner_line": {
        "zh": "收件人：{recipient_name}（{recipient_city}）",
        "en": "To: {recipient_name}, {recipient_city}",
    },
    "notice_why_owner": {
        "zh": "您收到这条通知，是因为这是您验证过的包裹。发送 /notify off 可关闭所有通知。",
        "en": "You get this because the parcel is yours (verified phone). Send /notify off to stop all notices.",
    },
    "notice_why_subscriber": {
        "zh": "您选择了接收这个包裹的进展通知。发送 /notify off 可关闭所有通知。",
        "en": "You asked to be told about this parcel. Send /notify off to stop all notices.",
    },
    "notice_button_stop": {"zh": "🔕 不再通知此包裹", "en": "🔕 Stop notices for this parcel"},
    "notice_button_complain": {"zh": "😟 投诉延误", "en": "😟 Complain about the delay"},
    "notice_button_human": {"zh": "👤 人工客服", "en": "👤 Talk to a person"},
    "notify_subscribed": {
        "zh": "🔔 好的！运单 {tracking_number} 派送、签收、延误、异常或退回时，我会第一时间通知您。",
        "en": (
            "🔔 Done! I'll tell you when {tracking_number} is out for delivery, delivered, delayed, "
            "has a problem or is returned."
        ),
    },
    "notify_subscribed_but_off": {
        "zh": "不过您之前用 /notify off 关闭了通知，发送 /notify on 后才能收到。",
        "en": "But you turned notices off with /notify off: send /notify on to receive them.",
    },
    "notify_unknown": {
        "zh": "抱歉，没有找到运单 {tracking_number}，无法订阅通知。",
        "en": "Sorry, I couldn't find {tracking_number}, so there is nothing to notify you about.",
    },
    "notify_final": {
        "zh": "运单 {tracking_number} 已经是最终状态，不会再有新的进展了。",
        "en": "{tracking_number} has reached its final status: there will be no further updates.",
    },
    "notify_unsubscribed": {
        "zh": "🔕 好的，不再发送运单 {tracking_number} 的通知。",
        "en": "🔕 OK, no more notices about {tracking_number}.",
    },
    "notify_on": {
        "zh": "🔔 通知已开启：您验证过的包裹和您关注的包裹有新进展时，我会告诉您。",
        "en": "🔔 Notices are on: I'll tell you when your verified parcels, and those you follow, make progress.",
    },
    "notify_off": {
        "zh": "🔕 已关闭所有包裹通知。发送 /notify on 可重新开启。",
        "en": "🔕 All parcel notices are off. Send /notify on to turn them back on.",
    },
    "notify_status_on": {
        "zh": "包裹通知目前为开启状态。发送 /notify off 关闭，/notify on 开启。",
        "en": "Parcel notices are on. Send /notify off to stop them, /notify on to turn them on.",
    },
    "notify_status_off": {
        "zh": "包裹通知目前为关闭状态。发送 /notify on 开启，/notify off 关闭。",
        "en": "Parcel notices are off. Send /notify on to turn them on, /notify off to stop them.",
    },
}

COMMAND_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "start": {"zh": "开始 / 欢迎", "en": "Start / welcome"},
    "help": {"zh": "使用帮助", "en": "How to use this chat"},
    "language": {"zh": "选择回复语言：zh / en / auto", "en": "Reply language: zh, en or auto"},
    "human": {"zh": "转人工客服", "en": "Talk to a person"},
    "link": {"zh": "验证手机号，查看我的包裹", "en": "Verify your phone to see your parcels"},
    "forget": {"zh": "删除我的个人数据", "en": "Erase my personal data"},
    "notify": {"zh": "包裹进展通知：on 开启 / off 关闭", "en": "Parcel notices: on or off"},
}

# Staff commands (bot/handlers.py STAFF_COMMAND_ROLES says who may use which), listed in a staff member's /start.
STAFF_COMMAND_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "queue": {"zh": "排队列表和处理中的会话", "en": "who is waiting and who is being helped"},
    "profile": {"zh": "当前会话的客户资料", "en": "your current customer's profile"},
    "note": {"zh": "内容：给当前会话加内部备注", "en": "text: an internal note on your conversation"},
    "transfer": {"zh": "用户ID：把当前会话转交给同事", "en": "user-id: hand your conversation to a colleague"},
    "resolve": {"zh": "结束当前会话，交还机器人", "en": "close your conversation and give it back to the bot"},
    "tag": {"zh": "意图：标注客户最新一条消息", "en": "intent: tag what the customer's latest message meant"},
    "complaints": {"zh": "未结投诉列表，或 /complaints C-1042", "en": "open complaints, or /complaints C-1042"},
    "cancel": {"zh": "取消正在进行的投诉台操作", "en": "cancel the complaint-desk step you are in"},
    "report": {"zh": "投诉报告", "en": "the complaint report"},
    "review": {"zh": "标注训练数据", "en": "label training data"},
    "staff": {"zh": "管理员工和角色", "en": "manage staff and roles"},
    "retrain": {"zh": "用新标注训练候选模型并过门槛", "en": "train a candidate model on new labels and gate it"},
    "rollback": {"zh": "回到上一个模型", "en": "go back to the previous model"},
}

# What staff read for each intent (the names come from nlu/intents.py; tests check every one has a label here).
INTENT_LABELS: dict[str, dict[str, str]] = {
    "thank": {"zh": "致谢", "en": "thanks"},
    "affirm": {"zh": "肯定 / 好的", "en": "yes / OK"},
    "deny": {"zh": "否定 / 不用了", "en": "no / never mind"},
    "bot_challenge": {"zh": "问是不是机器人", "en": "asks if it's a bot"},
    "faq/business_hours": {"zh": "常见问题：服务时间", "en": "FAQ: opening hours"},
    "faq/delivery_time": {"zh": "常见问题：时效", "en": "FAQ: delivery times"},
    "faq/insurance": {"zh": "常见问题：保价", "en": "FAQ: insurance"},
    "faq/prohibited_items": {"zh": "常见问题：禁寄物品", "en": "FAQ: prohibited items"},
    "faq/service_area": {"zh": "常见问题：寄送范围", "en": "FAQ: where we deliver"},
    "faq/shipping_fee": {"zh": "常见问题：运费", "en": "FAQ: shipping fees"},
    "greet": {"zh": "打招呼", "en": "greeting"},
    "goodbye": {"zh": "告别", "en": "says goodbye"},
    "track_shipment": {"zh": "查件", "en": "track a parcel"},
    "list_shipments": {"zh": "我的包裹", "en": "my parcels"},
    "change_delivery": {"zh": "修改派送", "en": "change a delivery"},
    "schedule_pickup": {"zh": "预约取件", "en": "book a pickup"},
    "complain_delay": {"zh": "投诉：延误", "en": "complaint: late"},
    "complain_damage": {"zh": "投诉：破损", "en": "complaint: damaged"},
    "complain_loss": {"zh": "投诉：丢件", "en": "complaint: lost"},
    "complain_wrong_delivery": {"zh": "投诉：错派", "en": "complaint: wrong delivery"},
    "complain_courier": {"zh": "投诉：快递员", "en": "complaint: courier"},
    "complain_billing": {"zh": "投诉：费用", "en": "complaint: charges"},
    "complain": {"zh": "投诉（未说类型）", "en": "complaint (no type yet)"},
    "cancel": {"zh": "取消", "en": "cancels"},
    "correct": {"zh": "改上一个回答", "en": "correct the last answer"},
    "go_back": {"zh": "返回上一步", "en": "go back a step"},
    "complaint_status": {"zh": "投诉进度", "en": "complaint status"},
    "give_feedback": {"zh": "评价服务", "en": "feedback"},
    "request_human": {"zh": "要求人工", "en": "asks for a person"},
    "out_of_scope": {"zh": "与快递无关", "en": "not about parcels"},
}

REASON_LABELS: dict[str, dict[str, str]] = {
    "request_human": {"zh": "客户要求人工", "en": "customer asked for a person"},
    "bot_failure": {"zh": "机器人故障", "en": "the bot failed"},
    "serious_complaint": {"zh": "严重投诉", "en": "serious complaint"},
    "repeated_misses": {"zh": "机器人连续两次没听懂", "en": "the bot misunderstood twice"},
}
REVIEW_REASON_LABELS: dict[str, dict[str, str]] = {
    "agent_tagged": {"zh": "客服已标注", "en": "agent-tagged"},
    "fallback": {"zh": "机器人没听懂", "en": "fallback"},
    "escalated": {"zh": "转了人工", "en": "went to a person"},
    "low_confidence": {"zh": "置信度低", "en": "low confidence"},
}
LANGUAGE_NAMES: dict[str, dict[str, str]] = {
    "zh": {"zh": "中文", "en": "Chinese"},
    "en": {"zh": "英文", "en": "English"},
}

# The complaint desk's ticket history (crm.models.ComplaintEventKind values), as staff read it on a card.
COMPLAINT_EVENT_LABELS: dict[str, dict[str, str]] = {
    "taken": {"zh": "接手", "en": "taken"},
    "assigned": {"zh": "分配给", "en": "assigned to"},
    "note": {"zh": "备注", "en": "note"},
    "message": {"zh": "发给客户", "en": "to the customer"},
    "resolved": {"zh": "解决", "en": "resolved"},
    "rejected": {"zh": "驳回", "en": "rejected"},
    "outcome_sent": {"zh": "已告知客户结果", "en": "outcome sent"},
    "outcome_failed": {"zh": "未能告知客户", "en": "outcome not delivered"},
    "confirmed": {"zh": "客户确认已解决", "en": "the customer confirmed"},
    "reopened": {"zh": "客户表示未解决，重新打开", "en": "reopened: the customer says not resolved"},
    "customer_words": {"zh": "客户补充", "en": "the customer adds"},
    "reminded": {"zh": "到期提醒", "en": "due reminder"},
    "alerted": {"zh": "超时，已通知主管", "en": "overdue: supervisors alerted"},
}

def label(table: dict[str, dict[str, str]], key: str | None, language: str) -> str:
    """A localised label from one of the tables above (the key itself if unknown)."""
    if key is None:
        return "-"
    variants = table.get(key)
    return (variants.get(language) or variants["en"]) if variants else key


def command_menu(language: str) -> str:
    """The customer commands (the menu Telegram shows), one per line with what each does."""
    return "\n".join(f"/{name} {label(COMMAND_DESCRIPTIONS, name, language)}" for name in COMMAND_DESCRIPTIONS)


def text(key: str, language: str, /, **values: object) -> str:
    """The bot text for a key in a language (English if the language is unknown)."""
    variants = TEXTS[key]
    template = variants.get(language) or variants["en"]
    return template.format(**values) if values else template
