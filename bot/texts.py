"""Texts the bot itself says (everything Rasa says lives in domain.yml), in Chinese and English."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "start": {
        "zh": (
            "您好，欢迎使用迅捷速运在线客服！我可以帮您：\n"
            "• 查询快递：直接发送运单号，例如 XJ202611180042\n"
            "• 查看我的包裹、修改派送地址或日期（需先用 /link 验证手机号）\n"
            "• 投诉（延误、破损、丢件、错派、快递员、费用）和查询投诉进度\n"
            "• 预约上门取件、评价服务、常见问题（运费、时效、禁寄物品等）\n"
            "发送 /help 查看帮助，/language 切换语言。"
        ),
        "en": (
            "Hello, welcome to XunJie Express customer service! I can help you:\n"
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
            "• /language 选择中文或英文回复。\n"
            "• /human 或发送“转人工”联系人工客服。\n"
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
            "• /language chooses Chinese or English replies.\n"
            "• /human (or just ask for a person) brings in our customer service team.\n"
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
        "zh": "抱歉，我目前只能看懂文字消息。请用文字描述您的问题，或直接发送运单号查件。"
        "如果包裹破损需要投诉，请先告诉我“包裹破损了”，我会请您上传照片。",
        "en": "Sorry, I can only read text messages here. Please describe your question in words, "
        "or send a waybill number to track a parcel. If a parcel arrived damaged, tell me so first "
        "and I'll ask you for the photo.",
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
        "zh": "抱歉，我不认识这个命令。可用命令：/start、/help、/language、/human。",
        "en": "Sorry, I don't know that command. Available commands: /start, /help, /language, /human.",
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
    "staff_removed": {"zh": "✓ {user} 已停用。", "en": "✓ {user} has been deactivated."},
    "staff_unknown_member": {"zh": "没有这个员工。", "en": "There is no such staff member."},
    "staff_list_header": {"zh": "员工：", "en": "Staff:"},
    "button_expired": {
        "zh": "这个按钮已失效，请直接发送您的问题。",
        "en": "This button has expired; please type your question instead.",
    },
}

COMMAND_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "start": {"zh": "开始 / 欢迎", "en": "Start / welcome"},
    "help": {"zh": "使用帮助", "en": "How to use this chat"},
    "language": {"zh": "选择语言", "en": "Choose the language"},
    "human": {"zh": "转人工客服", "en": "Talk to a person"},
    "link": {"zh": "验证手机号，查看我的包裹", "en": "Verify your phone to see your parcels"},
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


def label(table: dict[str, dict[str, str]], key: str | None, language: str) -> str:
    """A localised label from one of the tables above (the key itself if unknown)."""
    if key is None:
        return "-"
    variants = table.get(key)
    return (variants.get(language) or variants["en"]) if variants else key


def text(key: str, language: str, /, **values: object) -> str:
    """The bot text for a key in a language (English if the language is unknown)."""
    variants = TEXTS[key]
    template = variants.get(language) or variants["en"]
    return template.format(**values) if values else template
