"""Bilingual vocabulary: status, event, service, complaint, intent, reason, industry and country labels."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from crm.models import ComplaintCategory, ComplaintStatus, EventKind, ServiceLevel, ShipmentStatus

# Customers write Chinese or English; every customer-facing text exists in both.
LANGUAGES = ("zh", "en")
FALLBACK_LANGUAGE = "en"

Labels = dict[str, str]

STATUS_LABELS: dict[ShipmentStatus, Labels] = {
    ShipmentStatus.CREATED: {"zh": "已下单，待揽收", "en": "Order created, awaiting pickup"},
    ShipmentStatus.IN_TRANSIT: {"zh": "运输中", "en": "In transit"},
    ShipmentStatus.OUT_FOR_DELIVERY: {"zh": "派送中", "en": "Out for delivery"},
    ShipmentStatus.DELIVERED: {"zh": "已签收", "en": "Delivered"},
    ShipmentStatus.DELAYED: {"zh": "延误", "en": "Delayed"},
    ShipmentStatus.EXCEPTION: {"zh": "异常件，待处理", "en": "Exception, being handled"},
    ShipmentStatus.RETURNED: {"zh": "已退回寄件人", "en": "Returned to sender"},
    ShipmentStatus.LOST: {"zh": "已确认遗失", "en": "Lost"},
}

EVENT_LABELS: dict[EventKind, Labels] = {
    EventKind.CREATED: {"zh": "已下单", "en": "Order created"},
    EventKind.PICKED_UP: {"zh": "已揽收", "en": "Picked up"},
    EventKind.ARRIVED_HUB: {"zh": "到达转运中心", "en": "Arrived at hub"},
    EventKind.DEPARTED_HUB: {"zh": "离开转运中心", "en": "Departed hub"},
    EventKind.CUSTOMS: {"zh": "海关清关", "en": "Customs clearance"},
    EventKind.OUT_FOR_DELIVERY: {"zh": "派送中", "en": "Out for delivery"},
    EventKind.DELIVERY_ATTEMPTED: {"zh": "派送未成功", "en": "Delivery attempted"},
    EventKind.DELIVERED: {"zh": "已签收", "en": "Delivered"},
    EventKind.DELAYED: {"zh": "运输延误", "en": "Delayed"},
    EventKind.EXCEPTION: {"zh": "异常", "en": "Exception"},
    EventKind.RETURNED: {"zh": "退回寄件人", "en": "Returned to sender"},
    EventKind.LOST: {"zh": "确认遗失", "en": "Confirmed lost"},
    EventKind.DELIVERY_CHANGED: {"zh": "派送信息已变更", "en": "Delivery details changed"},
}

SERVICE_LABELS: dict[ServiceLevel, Labels] = {
    ServiceLevel.SAME_DAY: {"zh": "同城当日达", "en": "Same-day (within the city)"},
    ServiceLevel.EXPRESS: {"zh": "特快专递", "en": "Express"},
    ServiceLevel.STANDARD: {"zh": "标准快递", "en": "Standard"},
    ServiceLevel.ECONOMY: {"zh": "经济快递", "en": "Economy"},
}

COMPLAINT_CATEGORY_LABELS: dict[ComplaintCategory, Labels] = {
    ComplaintCategory.DELAY: {"zh": "延误", "en": "Late parcel"},
    ComplaintCategory.DAMAGE: {"zh": "破损", "en": "Damaged parcel"},
    ComplaintCategory.LOSS: {"zh": "丢件", "en": "Lost parcel"},
    ComplaintCategory.WRONG_DELIVERY: {"zh": "错派", "en": "Wrong delivery"},
    ComplaintCategory.COURIER_CONDUCT: {"zh": "快递员服务", "en": "Courier conduct"},
    ComplaintCategory.BILLING: {"zh": "费用问题", "en": "Charges and billing"},
}

COMPLAINT_STATUS_LABELS: dict[ComplaintStatus, Labels] = {
    ComplaintStatus.OPEN: {"zh": "已受理，待处理", "en": "Received, waiting for a case handler"},
    ComplaintStatus.IN_PROGRESS: {"zh": "处理中", "en": "Being handled"},
    ComplaintStatus.RESOLVED: {"zh": "已解决", "en": "Resolved"},
    ComplaintStatus.CLOSED: {"zh": "已关闭", "en": "Closed"},
}
# The complaint status answer: a ticket closed without being upheld, and the compensation a resolution paid.
COMPLAINT_REJECTED_LABEL: Labels = {"zh": "未予受理", "en": "Not upheld"}
COMPENSATION_NOTE: Labels = {"zh": "（补偿 {amount} 元）", "en": " (compensation: {amount} yuan)"}

# Button titles when the bot offers what it thinks the customer meant (action_clarify).
INTENT_LABELS: dict[str, Labels] = {
    "greet": {"zh": "打个招呼", "en": "Just saying hello"},
    "goodbye": {"zh": "结束对话", "en": "End the chat"},
    "thank": {"zh": "表示感谢", "en": "Say thanks"},
    "bot_challenge": {"zh": "问我是不是机器人", "en": "Ask whether I'm a bot"},
    "track_shipment": {"zh": "📦 查件", "en": "📦 Track a parcel"},
    "list_shipments": {"zh": "🗂 查看我的包裹", "en": "🗂 See my parcels"},
    "change_delivery": {"zh": "🏠 修改派送地址或日期", "en": "🏠 Change a delivery"},
    "schedule_pickup": {"zh": "🚚 预约上门取件", "en": "🚚 Book a pickup"},
    "complain_delay": {"zh": "投诉：包裹延误", "en": "Complain: late parcel"},
    "complain_damage": {"zh": "投诉：包裹破损", "en": "Complain: damaged parcel"},
    "complain_loss": {"zh": "投诉：包裹丢失", "en": "Complain: lost parcel"},
    "complain_wrong_delivery": {"zh": "投诉：送错了", "en": "Complain: wrong delivery"},
    "complain_courier": {"zh": "投诉：快递员", "en": "Complain: courier"},
    "complain_billing": {"zh": "投诉：费用", "en": "Complain: charges"},
    "complaint_status": {"zh": "📝 查询投诉进度", "en": "📝 Complaint status"},
    "give_feedback": {"zh": "⭐ 评价服务", "en": "⭐ Rate our service"},
    "request_human": {"zh": "👤 人工客服", "en": "👤 Talk to a person"},
}

# Reason codes are stored in shipments.status_reason and tracking_events.reason.
REASON_LABELS: dict[str, Labels] = {
    # A delivery change the customer asked for in the chat (crm.delivery).
    "customer_request": {"zh": "应您的要求变更了派送", "en": "Delivery changed at your request"},
    "weather": {"zh": "受天气影响，干线运输延误", "en": "Line-haul delayed by bad weather"},
    "hub_backlog": {"zh": "转运中心货量积压，正在加紧处理", "en": "Backlog at the hub, being cleared"},
    "traffic_control": {
        "zh": "途经地区交通管制，车辆绕行",
        "en": "Traffic control on the route, truck rerouted",
    },
    "customs_inspection": {"zh": "海关查验中，清关时间延长", "en": "Held for customs inspection"},
    "address_incomplete": {
        "zh": "收件地址不完整，需补充详细地址",
        "en": "Delivery address incomplete, details needed",
    },
    "recipient_unreachable": {"zh": "收件人电话无法接通", "en": "Recipient could not be reached by phone"},
    "recipient_refused": {"zh": "收件人拒收", "en": "Recipient refused the parcel"},
    "recipient_absent": {"zh": "收件人不在，将再次派送", "en": "Recipient not at home, will try again"},
    "damaged_packaging": {
        "zh": "外包装破损，正在核查并重新包装",
        "en": "Packaging damaged, being checked and repacked",
    },
    "lost_in_transit": {"zh": "运输途中遗失，已启动理赔", "en": "Lost in transit, a claim has been opened"},
    "holiday_peak": {
        "zh": "节假日/大促高峰，派送时效延长",
        "en": "Holiday or sales peak, deliveries take longer",
    },
    "vehicle_breakdown": {
        "zh": "运输车辆故障，已安排换车",
        "en": "Vehicle breakdown, a replacement truck is on its way",
    },
    "wrong_sort": {"zh": "分拣错误，已重新发往正确网点", "en": "Mis-sorted, re-routed to the right station"},
}

# Stored in customers.industry (company customers only).
INDUSTRY_LABELS: dict[str, Labels] = {
    "e_commerce": {"zh": "电子商务", "en": "E-commerce"},
    "electronics": {"zh": "电子产品", "en": "Electronics"},
    "apparel": {"zh": "服装鞋帽", "en": "Apparel"},
    "pharmaceuticals": {"zh": "医药", "en": "Pharmaceuticals"},
    "auto_parts": {"zh": "汽车配件", "en": "Auto parts"},
    "food": {"zh": "食品", "en": "Food"},
    "cosmetics": {"zh": "美妆个护", "en": "Cosmetics"},
    "furniture": {"zh": "家具家居", "en": "Furniture"},
    "books": {"zh": "图书文化", "en": "Books and media"},
    "machinery": {"zh": "机械设备", "en": "Machinery"},
}

COUNTRY_LABELS: dict[str, Labels] = {
    "CN": {"zh": "中国", "en": "China"},
    "HK": {"zh": "中国香港", "en": "Hong Kong SAR, China"},
    "SG": {"zh": "新加坡", "en": "Singapore"},
    "JP": {"zh": "日本", "en": "Japan"},
    "KR": {"zh": "韩国", "en": "South Korea"},
    "US": {"zh": "美国", "en": "United States"},
    "GB": {"zh": "英国", "en": "United Kingdom"},
    "DE": {"zh": "德国", "en": "Germany"},
    "AU": {"zh": "澳大利亚", "en": "Australia"},
}

# The button action_track_shipment adds under a tracking reply; pressing it subscribes to notices (crm/notices.py).
NOTIFY_ME_LABELS: Labels = {"zh": "🔔 有新进展时通知我", "en": "🔔 Notify me"}

# The fields a form's summary can edit (one button each after "Edit"), by the slot that holds them.
FORM_FIELD_LABELS: dict[str, Labels] = {
    "complaint_category": {"zh": "投诉类型", "en": "Type of complaint"},
    "tracking_number": {"zh": "运单号", "en": "Tracking number"},
    "complaint_description": {"zh": "情况描述", "en": "What happened"},
    "complaint_photo": {"zh": "照片", "en": "Photo"},
    "delivery_kind": {"zh": "改地址还是改日期", "en": "Address or day"},
    "delivery_address": {"zh": "新地址", "en": "New address"},
    "delivery_day": {"zh": "新日期", "en": "New day"},
    "pickup_address": {"zh": "取件地址", "en": "Pickup address"},
    "pickup_window": {"zh": "上门时间", "en": "Time window"},
    "pickup_contents": {"zh": "物品", "en": "Items"},
}
# Whether a complaint's summary carries a photo.
PHOTO_LABELS: dict[bool, Labels] = {True: {"zh": "已附照片", "en": "attached"}, False: {"zh": "无", "en": "none"}}
# The button under the field buttons that returns to the summary unchanged.
KEEP_AS_IS_LABELS: Labels = {"zh": "↩️ 不改了，返回确认", "en": "↩️ Keep it as it is"}


def normalize_language(language: str | None) -> str:
    """'zh-CN', 'zh_Hans', 'ZH' -> 'zh'; Telegram and Rasa send language tags in several shapes."""
    return (language or "").strip().lower().replace("_", "-").split("-")[0]


def _key_text(key: object) -> str:
    """The plain string form of a key: an enum's value, otherwise str()."""
    return str(key.value) if isinstance(key, Enum) else str(key)


def label(table: Mapping[object, Mapping[str, str]], key: object, language: str | None) -> str:
    """The label of key in language; English for unknown languages, the key itself for unknown keys."""
    if key is None:
        return ""
    try:
        entry = table.get(key)
    except TypeError:  # an unhashable key is simply unknown
        entry = None
    if entry is None:
        # Callers pass enums, their string values or other enums with the same value: compare by value.
        wanted = _key_text(key)
        entry = next((value for candidate, value in table.items() if _key_text(candidate) == wanted), None)
    if not entry:
        return _key_text(key)
    return (
        entry.get(normalize_language(language))
        or entry.get(FALLBACK_LANGUAGE)
        or next((text for text in entry.values() if text), None)  # any language beats a bare code
        or _key_text(key)
    )
