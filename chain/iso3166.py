"""ISO 3166-1 alpha-2 country codes, for jurisdiction and region checks.

The table is part of the consensus rules: adding or removing a code changes which transactions
are valid, so it changes only with a coordinated node upgrade. It holds the 249 officially
assigned codes (no user-assigned codes such as ``ZZ`` or ``XK``, no reserved ones).
"""

from __future__ import annotations

import re

__all__ = ["COUNTRY_CODES", "is_country_code", "is_iso3166_code", "is_subdivision_code"]

_TABLE = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET
    FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
    HK HM HN HR HT HU
    ID IE IL IM IN IO IQ IR IS IT
    JE JM JO JP
    KE KG KH KI KM KN KP KR KW KY KZ
    LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ
    OM
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA
    RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
    TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
    UA UG UM US UY UZ
    VA VC VE VG VI VN VU
    WF WS
    YE YT
    ZA ZM ZW
"""
COUNTRY_CODES: frozenset[str] = frozenset(_TABLE.split())

# ISO 3166-2: the country code, "-", then 1 to 3 letters or digits (CN-15, CN-ZJ, GB-ENG).
_SUBDIVISION_RE = re.compile(r"([A-Z]{2})-[A-Z0-9]{1,3}", re.ASCII)


def is_country_code(text: str) -> bool:
    """True for an assigned ISO 3166-1 alpha-2 code such as ``CN``."""
    return text in COUNTRY_CODES


def is_subdivision_code(text: str) -> bool:
    """True for ISO 3166-2 subdivision syntax (``CN-15``) whose country part is assigned.

    Subdivision parts are checked for syntax only: the full ISO 3166-2 list changes every year.
    """
    match = _SUBDIVISION_RE.fullmatch(text)
    return match is not None and match.group(1) in COUNTRY_CODES


def is_iso3166_code(text: str) -> bool:
    """True for a country code (ISO 3166-1) or a subdivision code (ISO 3166-2)."""
    return is_country_code(text) or is_subdivision_code(text)
