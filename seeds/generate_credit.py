#!/usr/bin/env python3
"""Writes seeds/credit.json: the demo district's mortgage policy, two partner banks with one loan
product per kind of right ("一权一品"), property rights on demo assets with their holders,
documents and appraisals, two expropriation zones and party-branch recommendations.

Deterministic (fixed seed). The rights are made so that every eligibility rule fails somewhere in
the demo: some disputed, seized, expired, unregistered, without consents or proof of other
housing, appraised too low or too long ago, in an expropriation zone, or homestead rights the
district does not allow as collateral. Run from the repository root:

    python3 seeds/generate_credit.py
"""

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from import_files import read_assets, read_parties, read_revitalizations  # noqa: E402

random.seed(20261128)

assets = read_assets()
parties = {p["key"]: p for p in read_parties()}
revitalizations = read_revitalizations()
leased = {r["assetCode"] for r in revitalizations if r["mode"] in ("LEASE", "EQUITY_CONTRIBUTION", "COOPERATIVE_OPERATION", "HOMESTAY")}

policy = {
    "version": "东川区-2026-2",
    "mortgageable": ["FARMHOUSE_PROPERTY", "LAND_MANAGEMENT", "FOREST", "COLLECTIVE_CONSTRUCTION_LAND",
                     "COLLECTIVE_SHARE"],
    "ltvCeilingBp": {
        "FARMHOUSE_PROPERTY": 7000,
        "HOMESTEAD_USE": 5000,
        "LAND_MANAGEMENT": 7000,
        "FOREST": 6000,
        "COLLECTIVE_CONSTRUCTION_LAND": 7000,
        "COLLECTIVE_SHARE": 5000,
    },
    # A pledged share needs the organisation's written consent (股权质押须经集体经济组织同意).
    "collectiveConsent": ["FARMHOUSE_PROPERTY", "HOMESTEAD_USE", "COLLECTIVE_SHARE"],
    "minAppraisalFen": 5_000_000,
    "appraisalValidDays": 365,
    "age": {"min": 18, "maleMax": 65, "femaleMax": 60},
}

banks = [
    {"code": "JXRCB-DC", "name": "江西农商银行东川支行"},
    {"code": "PSBC-DC", "name": "中国邮政储蓄银行东川支行"},
]

KINDS = {
    "FARMHOUSE_PROPERTY": ("农房抵押贷", "房"),
    "HOMESTEAD_USE": ("宅基地使用权贷", "宅"),
    "LAND_MANAGEMENT": ("土地经营权贷", "地"),
    "FOREST": ("林权贷", "林"),
    "COLLECTIVE_CONSTRUCTION_LAND": ("集体建设用地贷", "建"),
}
products = []
for bank in banks:
    rural = bank["code"] == "JXRCB-DC"
    for kind, (name, short) in KINDS.items():
        model = "MORTGAGE"
        if kind == "FARMHOUSE_PROPERTY" and not rural:
            model = "HOUSE_BASED_CREDIT"
        products.append({
            "code": f"{bank['code']}-{kind}",
            "bankCode": bank["code"],
            "name": f"{'农商' if rural else '邮储'}{name}",
            "rightKind": kind,
            "creditModel": model,
            "maxLtvBp": 8000 if rural else 6000,
            "minTermMonths": 6,
            "maxTermMonths": 60 if rural else 36,
            "minAmountFen": 1_000_000,
            "maxAmountFen": 300_000_000 if rural else 50_000_000,
            "minRateBp": 385 if rural else 345,
            "maxRateBp": 620 if rural else 520,
            "needsCollectiveConsent": kind == "LAND_MANAGEMENT" and rural,
        })

# Share pledge loans (股权质押贷), at the rural commercial bank only; last, so the other products
# keep their ids.
products.append({
    "code": "JXRCB-DC-COLLECTIVE_SHARE",
    "bankCode": "JXRCB-DC",
    "name": "农商股权质押贷",
    "rightKind": "COLLECTIVE_SHARE",
    "creditModel": "MORTGAGE",
    "maxLtvBp": 5000,
    "minTermMonths": 6,
    "maxTermMonths": 36,
    "minAmountFen": 500_000,
    "maxAmountFen": 20_000_000,
    "minRateBp": 420,
    "maxRateBp": 650,
    "needsCollectiveConsent": True,
})

households = [a for a in assets if parties[a["ownerKey"]]["kind"] == "HOUSEHOLD"]


def ring(lon, lat, w, h):
    return [[round(lon, 6), round(lat, 6)], [round(lon + w, 6), round(lat, 6)],
            [round(lon + w, 6), round(lat + h, 6)], [round(lon, 6), round(lat + h, 6)],
            [round(lon, 6), round(lat, 6)]]


# Two zones announced for land acquisition, each around a few demo assets.
zone_centres = [households[17], households[140]]
zones = []
for i, a in enumerate(zone_centres):
    zones.append({
        "code": f"ZS-2026-{i + 1:03}",
        "name": ["东川工业园二期征收范围", "苏山乡道拓宽征收范围"][i],
        "boundary": {"type": "Polygon", "coordinates": [ring(a["lon"] - 0.002, a["lat"] - 0.0015, 0.004, 0.003)]},
        "announcedOn": ["2026-05-12", "2026-08-03"][i],
        "authority": "东川区人民政府",
    })

other_households = [p for p in parties.values() if p["kind"] == "HOUSEHOLD"]

rights = []
for n, a in enumerate(households[:220]):
    owner = a["ownerKey"]
    kind = "FARMHOUSE_PROPERTY" if a["kind"] == "IDLE_FARMHOUSE" else "HOMESTEAD_USE"
    village = a["code"].split("-")[0]
    code = f"R-{a['code']}"
    issued = f"20{random.randint(16, 24)}-{random.randint(1, 12):02}-{random.randint(1, 28):02}"
    right = {
        "code": code,
        "kind": kind,
        "assetCode": a["code"],
        "certificateNo": f"赣(20{issued[2:4]})东川区不动产权第{n + 1:07}号",
        "certificateKind": "不动产权证书",
        "issuedOn": issued,
        "expiresOn": None,
        "status": "VALID",
        "disputed": n % 23 == 5,
        "seized": n % 29 == 7,
        "holders": [{"partyKey": owner, "share": 1.0}],
        "documents": [
            {"kind": "CERTIFICATE", "number": f"CERT-{n + 1:05}", "issuer": "东川区不动产登记中心", "issuedOn": issued},
        ],
        "appraisals": [],
    }
    if n % 37 == 11:
        right["certificateNo"] = None
        right["documents"] = []
    if n % 31 == 13:
        right["status"] = "CANCELLED"
    if n % 41 == 17:
        right["expiresOn"] = "2027-06-30"
    if n % 19 == 3:
        # Inherited by two households; the second has not (yet) consented.
        second = other_households[(n * 7) % len(other_households)]["key"]
        if second != owner:
            right["holders"] = [{"partyKey": owner, "share": 0.5}, {"partyKey": second, "share": 0.5}]
    if n % 19 == 8:
        second = other_households[(n * 11) % len(other_households)]["key"]
        if second != owner:
            right["holders"] = [{"partyKey": owner, "share": 0.6}, {"partyKey": second, "share": 0.4}]
            right["documents"].append({"kind": "CO_OWNER_CONSENT", "number": f"GY-{n + 1:05}",
                                       "issuer": parties[second]["name"], "issuedOn": "2026-02-10",
                                       "partyKey": second})
    if n % 6 != 4:
        right["documents"].append({"kind": "COLLECTIVE_CONSENT", "number": f"JT-{village}-{n + 1:04}",
                                   "issuer": f"{village}村股份经济合作社", "issuedOn": "2026-01-15"})
    if kind == "FARMHOUSE_PROPERTY" and n % 7 != 2:
        right["documents"].append({"kind": "ALTERNATIVE_RESIDENCE_PROOF", "number": f"ZS-{n + 1:05}",
                                   "issuer": f"{village}村民委员会", "issuedOn": "2026-03-01",
                                   "partyKey": owner})
    if a["code"] in leased and n % 2 == 0:
        right["documents"].append({"kind": "LEASE_DISCLOSURE", "number": f"ZL-{n + 1:05}",
                                   "issuer": "承租方", "issuedOn": "2026-04-01"})
    if n % 9 != 6:
        floor = a.get("floorAreaM2") or 120.0
        value = int(floor * random.uniform(1800, 3200)) * 100
        if n % 13 == 10:
            value = 3_800_000  # below the district's minimum of ¥50,000
        valued = "2025-03-20" if n % 17 == 9 else f"2026-{random.randint(1, 10):02}-{random.randint(1, 28):02}"
        right["appraisals"].append({
            "method": ["THIRD_PARTY", "BANK", "NEGOTIATED"][n % 3],
            "appraiser": ["江西中诚房地产评估有限公司", "东川农商行风险部", "协商定价"][n % 3],
            "valueFen": value,
            "valuedOn": valued,
            "validUntil": None,
        })
    rights.append(right)

recommendations = []
for n, a in enumerate(households[:220:4]):
    recommendations.append({
        "partyKey": a["ownerKey"],
        "villageCode": a["code"].split("-")[0],
        "grade": ["AAA", "AA", "A", "B"][n % 4],
        "issuer": f"{a['code'].split('-')[0]}村党支部",
        "issuedOn": "2026-04-18",
    })

# Loans in every state, on rights whose reports pass as of their decision day, taken through
# the same lifecycle code as the API: (right code, bank, amount, months, steps).
DECIDED = "2026-11-10"
scenarios = [
    ("R-369901101203-0006", "PSBC-DC", 10_000_000, 24, []),
    ("R-369901102201-0001", "JXRCB-DC", 12_000_000, 36, ["approve"]),
    ("R-369901102202-0002", "JXRCB-DC", 900_000_000, 36, ["reject"]),
    ("R-369901102202-0006", "JXRCB-DC", 15_000_000, 36, ["approve", "register"]),
    ("R-369901102202-0009", "PSBC-DC", 8_000_000, 24, ["approve", "register", "disburse", "repay:1000000"]),
    ("R-369901102203-0005", "JXRCB-DC", 6_000_000, 12, ["approve", "register", "disburse", "repay:6000000", "release"]),
    ("R-369901102203-0014", "JXRCB-DC", 10_000_000, 36, ["approve", "register", "disburse", "default"]),
    ("R-369901102204-0003", "PSBC-DC", 9_000_000, 24, ["approve", "register", "disburse", "default", "dispose:AUCTION:7200000"]),
]
by_code = {r["code"]: r for r in rights}
applications = []
for n, (code, bank, amount, months, steps) in enumerate(scenarios):
    right = by_code[code]
    applications.append({
        "key": f"LA-DEMO-{n + 1:03}",
        "rightCode": code,
        "productCode": f"{bank}-{right['kind']}",
        "borrowerKey": right["holders"][0]["partyKey"],
        "amountFen": amount,
        "termMonths": months,
        "submittedOn": "2026-11-03",
        "decidedOn": DECIDED,
        "registrationNo": f"赣(2026)东川区不动产证明第{n + 1:07}号",
        "steps": steps,
    })

out = {
    "policy": policy,
    "banks": banks,
    "products": products,
    "zones": zones,
    "rights": rights,
    "recommendations": recommendations,
    "applications": applications,
}
with open("seeds/credit.json", "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
    f.write("\n")
print(f"{len(rights)} rights, {len(products)} products, {len(zones)} zones, {len(recommendations)} recommendations")
