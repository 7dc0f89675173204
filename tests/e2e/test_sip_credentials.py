"""The SIP credentials file the demo writes and the registrar reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.sip_credentials import load_sip_credentials
from telephony.sip.digest import compute_ha1

HA1 = compute_ha1("1002", "switchboard", "secret", "MD5")


async def test_passwords_and_ha1_entries_are_credentials(tmp_path: Path) -> None:
    path = tmp_path / "phones.yaml"
    path.write_text(f'"1001": {{password: pw1}}\n"1002": {{ha1: {HA1}}}\n')
    credentials = load_sip_credentials(path)
    assert len(credentials) == 2
    first = await credentials.credential("1001")
    assert first is not None and first.password == "pw1"
    second = await credentials.credential("1002")
    assert second is not None and second.ha1_for("1002", "switchboard", "MD5") == HA1
    assert await credentials.credential("1003") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"1001": {password: pw, ha1: ' + HA1 + "}", "1001: Value error, give exactly one"),
        ('"1001": {}', "1001: Value error, give exactly one"),
        ('"1001": {ha1: nothex}', "1001.ha1: String should match"),
        ('"1001": {pasword: pw}', "1001.pasword: Extra inputs"),
        ("[1001]", "(top level): Input should be a valid dictionary"),
        ("{unclosed", "cannot read SIP credentials"),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "phones.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"phones\.yaml") as refused:
        load_sip_credentials(path)
    assert message in str(refused.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        load_sip_credentials(tmp_path / "none.yaml")
