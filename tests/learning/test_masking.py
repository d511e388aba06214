"""Personal data is masked with realistic stand-ins; waybill numbers and complaint codes are kept."""

from __future__ import annotations

import pytest

from learning.masking import (
    EMAIL_PLACEHOLDER,
    EN_ADDRESS_PLACEHOLDER,
    LANDLINE_PLACEHOLDER,
    MOBILE_PLACEHOLDER,
    ZH_ADDRESS_PLACEHOLDER,
    ZH_BUILDING_PLACEHOLDER,
    mask_personal_data,
)


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("我的电话是13800138000，快递XJ202611180042", f"我的电话是{MOBILE_PLACEHOLDER}，快递XJ202611180042"),
        ("call me on +86 139-1234-5678 please", f"call me on +86 {MOBILE_PLACEHOLDER} please"),
        ("打我电话１３９１２３４５６７８", f"打我电话{MOBILE_PLACEHOLDER}"),
        ("座机021-64381234", f"座机{LANDLINE_PLACEHOLDER}"),
        ("email bob.li@qq.com thanks", f"email {EMAIL_PLACEHOLDER} thanks"),
        ("请送到建国路88号", f"请送到{ZH_ADDRESS_PLACEHOLDER}"),
        ("改到浦东新区张江路100号3号楼1201室 谢谢", f"改到{ZH_ADDRESS_PLACEHOLDER} 谢谢"),
        ("放阳光小区5栋2单元301室门口", f"放{ZH_BUILDING_PLACEHOLDER}门口"),
        ("deliver to 88 Jianguo Road tomorrow", f"deliver to {EN_ADDRESS_PLACEHOLDER} tomorrow"),
        ("身份证110101199001011234", "身份证12345678"),
    ],
)
def test_personal_data_is_replaced_by_well_formed_stand_ins(raw: str, masked: str) -> None:
    """Phones, e-mails, addresses and long numbers become fake but realistic values."""
    assert mask_personal_data(raw) == masked


@pytest.mark.parametrize(
    "text",
    [
        "XJ202611180042到哪了",
        "xj 2026 1118 0042 where is it",
        "EE123456785CN still not here",
        "我的投诉C-1042处理得怎么样了",
        "2026-11-18 能送到吗",
        "I have 2 parcels on the road",
        "我住在人民路",  # no house number: a documented limit, left as typed
    ],
)
def test_waybills_codes_dates_and_plain_words_are_kept(text: str) -> None:
    """Nothing personal: the text stays exactly as typed."""
    assert mask_personal_data(text) == text


def test_masking_is_idempotent() -> None:
    """Masking a masked text changes nothing (placeholders are not masked again)."""
    once = mask_personal_data("电话+86 138 0013 8000，地址上海市浦东新区测试路1号，单号XJ202611180042")
    assert mask_personal_data(once) == once
    assert "13800138000" not in once.replace(" ", "") and "XJ202611180042" in once
