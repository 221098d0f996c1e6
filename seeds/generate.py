#!/usr/bin/env python3
# rural-registry demo seed generator.
#
# Writes the demo data set of the FICTIONAL district 青岚区 (Qinglan District,
# division-code prefix 369901, which is not a real code) into this directory:
#   townships.geojson, villages.geojson, parties.csv, assets.geojson,
#   revitalizations.csv, demo_sites.json
# The first five are in the formats `rural-registry import` reads (see
# import_files.py), and `seed` loads them through that import.
# All places, people, ID numbers, phone numbers, credit codes, companies and
# figures are invented. The generated files are committed to the repository and
# loaded by `rural-registry seed`; run `python3 seeds/generate.py` only to
# regenerate them after changing this script.
#
# Python 3.11, standard library only, fixed random seed, no network. The output
# is byte-identical on every run. A validation pass runs at the end over the
# files as written and raises AssertionError on any inconsistency.

import datetime as dt
import json
import math
import os
import random
import re
from decimal import Decimal

import import_files

SEED = 369901
OUT_DIR = os.path.dirname(os.path.abspath(__file__))

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

NX, NY = 12, 5                 # lattice cells (columns west->east, rows south->north)
DLON, DLAT = 0.036, 0.04       # cell size in degrees
LON0 = 117.0 - NX * DLON / 2   # south-west corner of the undistorted lattice
LAT0 = 28.2 - NY * DLAT / 2
JITTER = 0.2                   # max vertex jitter, fraction of a cell, per axis
KX = 98200.0                   # metres per degree of longitude at ~28.2N
KY = 110900.0                  # metres per degree of latitude

DISTRICT_PREFIX = "369901"
DISTRICT_NAME = "青岚区"

N_ASSETS = 400
N_HOUSEHOLDS = 280
N_REVITALIZED_OTHER = 15       # REVITALIZED assets outside the demo villages
N_RELINQUISHED = 7
N_NEGOTIATING = 15
N_WITHDRAWN = 6

IDLE_MIN = dt.date(2012, 1, 1)
IDLE_MAX = dt.date(2025, 6, 30)
DEAL_MAX = dt.date(2025, 10, 31)

MIN_EDGE_M = 40.0              # asset point distance from its village cell edges
MIN_SPACING_M = 32.0           # between asset points (keeps footprints apart)

ASSET_KINDS = ("IDLE_FARMHOUSE", "IDLE_HOMESTEAD")
STRUCTURES = ("BRICK_CONCRETE", "BRICK_WOOD", "FRAME", "EARTH_WOOD", "SIMPLE")
CONDITIONS = ("GOOD", "FAIR", "POOR", "DILAPIDATED")
IDLE_CAUSES = ("MIGRATED_TO_CITY", "MULTIPLE_HOMESTEADS", "INHERITED", "DILAPIDATED", "OTHER")
WILLINGNESS = ("LEASE", "EQUITY", "COOPERATION", "RELINQUISH", "UNDECIDED", "NONE")
STATUSES = ("IDENTIFIED", "VERIFIED", "LISTED", "NEGOTIATING", "REVITALIZED", "RELINQUISHED", "WITHDRAWN")
MODES = ("LEASE", "EQUITY_CONTRIBUTION", "COOPERATIVE_OPERATION", "TRANSFER", "HOMESTAY", "PAID_RELINQUISHMENT")
PARTY_KINDS = ("HOUSEHOLD", "COLLECTIVE", "COOPERATIVE", "ENTERPRISE")
LEVELS = ("DISTRICT", "CITY", "PROVINCE", "NATIONAL")
INDICATOR_CODES = (
    "COLLECTIVE_OPERATING_INCOME", "COLLECTIVE_TOTAL_ASSETS", "HOUSEHOLDS_BENEFITED",
    "AVG_HOUSEHOLD_INCOME_GAIN", "JOBS_CREATED", "LABOUR_INCOME_PAID", "INVESTMENT_TOTAL",
    "IDLE_HOUSES_REVITALIZED", "IDLE_HOMESTEAD_AREA_REVITALIZED", "ROOMS_OR_BEDS", "VISITORS",
    "DIVIDENDS_PAID",
)
# investment ranges (yuan) for low-capital end uses of leased assets
LIGHT_USE_INVESTMENT = {"共享菜园": (20000, 120000), "停车场": (30000, 150000), "仓储": (50000, 300000),
                        "乡村书屋": (50000, 250000)}
MONEY_INDICATORS = {
    "COLLECTIVE_OPERATING_INCOME", "COLLECTIVE_TOTAL_ASSETS", "AVG_HOUSEHOLD_INCOME_GAIN",
    "LABOUR_INCOME_PAID", "INVESTMENT_TOTAL", "DIVIDENDS_PAID",
}

# Township blocks in lattice index space: (number, name, col0, col1, row0, row1), inclusive.
# Rows count from the south. The 8 rectangles tile the 12 x 5 lattice exactly.
TOWNSHIP_BLOCKS = [
    (101, "青岚街道", 6, 7, 0, 1),    # 2x2, district seat
    (102, "东川镇", 8, 11, 0, 1),     # 4x2, south-east
    (103, "苏山乡", 0, 2, 2, 4),      # 3x3, north-west hills
    (104, "鹤田镇", 0, 2, 0, 1),      # 3x2
    (105, "云溪乡", 3, 5, 0, 2),      # 3x3
    (106, "枫岭乡", 3, 5, 3, 4),      # 3x2
    (107, "柘源镇", 6, 8, 2, 4),      # 3x3
    (108, "松湖镇", 9, 11, 2, 4),     # 3x3
]

# Village name stems (without 村). 白家 and 刘家 are placed explicitly.
VILLAGE_STEMS = [
    "上坪", "下坪", "石桥", "枫树", "杨梅", "荷塘", "竹山", "黄泥", "高田", "桥头",
    "龙口", "新塘", "樟树", "洪源", "桐木", "茶园", "岭下", "溪口", "港头", "长垅",
    "大坑", "株林", "柏树", "梅岭", "塘背", "水口", "坳上", "邓家", "胡家", "陈家",
    "罗坊", "谢坊", "江背", "湖田", "沙洲", "田心", "曹坊", "杉木", "金竹", "银坑",
    "马头", "鹅湖", "莲塘", "松林", "桂花", "南坑", "北山", "东坑", "西源", "山背",
    "源头", "周家", "黄家", "余家", "吴家", "彭家", "老屋", "麻田", "横江", "珠坑",
    "石岭", "岩前", "枧头", "社下", "官庄",
]

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "魏吕丁任沈姚卢姜钟谭陆汪范金石廖夏付方邹熊邱江万严龚邵"
)
MALE_CHARS = list("国建华明志文军平德金水根福生春发荣林清海伟强勇永长新良民才仁义贵祥茂松财桂庆兴旺忠宝昌运")
FEMALE_CHARS = list("秀英兰芳桂梅珍凤花玉莲琴香翠娥春菊霞红丽冬爱云")

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100 character set (no I, O, Z, S, V)
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"

# --------------------------------------------------------------------------
# Geometry helpers (lon/lat in degrees; metres via a local equirectangular frame)
# --------------------------------------------------------------------------


def r6(x):
    return round(x, 6)


def to_m(p, o):
    return ((p[0] - o[0]) * KX, (p[1] - o[1]) * KY)


def from_m(o, dx, dy):
    return (o[0] + dx / KX, o[1] + dy / KY)


def dist_m(a, b):
    dx, dy = to_m(a, b)
    return math.hypot(dx, dy)


def signed_area(ring):
    """Shoelace area of a closed ring in degree units (positive = CCW)."""
    s = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        s += x1 * y2 - x2 * y1
    return s / 2.0


def area_m2(ring):
    o = ring[0]
    return signed_area([to_m(p, o) for p in ring])


def _orient(a, b, c):
    v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (v > 0) - (v < 0)


def _on_seg(a, b, c):
    return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])


def segments_intersect(p1, p2, p3, p4):
    o1, o2, o3, o4 = _orient(p1, p2, p3), _orient(p1, p2, p4), _orient(p3, p4, p1), _orient(p3, p4, p2)
    if o1 != o2 and o3 != o4:
        return True
    if o1 == 0 and _on_seg(p1, p2, p3):
        return True
    if o2 == 0 and _on_seg(p1, p2, p4):
        return True
    if o3 == 0 and _on_seg(p3, p4, p1):
        return True
    if o4 == 0 and _on_seg(p3, p4, p2):
        return True
    return False


def check_ring(ring, what):
    """Closed, >= 4 positions, no duplicate consecutive points, CCW, simple."""
    assert len(ring) >= 4, f"{what}: ring too short"
    assert tuple(ring[0]) == tuple(ring[-1]), f"{what}: ring not closed"
    pts = [tuple(p) for p in ring]
    n = len(pts) - 1
    assert len(set(pts[:-1])) == n, f"{what}: repeated vertex"
    for i in range(n):
        assert pts[i] != pts[i + 1], f"{what}: zero-length edge"
    assert signed_area(pts) > 0, f"{what}: ring is not counter-clockwise"
    for i in range(n):
        a, b = pts[i], pts[i + 1]
        for j in range(i + 1, n):
            c, d = pts[j], pts[j + 1]
            if j == i + 1:
                # adjacent edges share b == c; they must not fold back on each other
                if _orient(a, b, d) == 0:
                    ab = (b[0] - a[0], b[1] - a[1])
                    cd = (d[0] - c[0], d[1] - c[1])
                    assert ab[0] * cd[0] + ab[1] * cd[1] > 0, f"{what}: edge folds back"
                continue
            if i == 0 and j == n - 1:
                if _orient(c, d, b) == 0:
                    da = (pts[1][0] - pts[0][0], pts[1][1] - pts[0][1])
                    cd = (d[0] - c[0], d[1] - c[1])
                    assert da[0] * cd[0] + da[1] * cd[1] > 0, f"{what}: edge folds back"
                continue
            assert not segments_intersect(a, b, c, d), f"{what}: self-intersection between edges {i} and {j}"


def is_strictly_convex(ring):
    pts = ring[:-1]
    n = len(pts)
    return all(_orient(pts[k], pts[(k + 1) % n], pts[(k + 2) % n]) > 0 for k in range(n))


def point_in_ring(p, ring):
    x, y = p
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > y) != (y2 > y):
            xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < xi:
                inside = not inside
    return inside


def dist_point_seg_m(p, a, b):
    ax, ay = to_m(a, p)
    bx, by = to_m(b, p)
    vx, vy = bx - ax, by - ay
    L2 = vx * vx + vy * vy
    t = 0.0 if L2 == 0 else max(0.0, min(1.0, -(ax * vx + ay * vy) / L2))
    return math.hypot(ax + t * vx, ay + t * vy)


def min_edge_dist_m(p, ring):
    return min(dist_point_seg_m(p, a, b) for a, b in zip(ring, ring[1:]))


def convex_overlap(r1, r2):
    """Separating-axis test for two convex rings; touching counts as overlap."""
    o = r1[0]
    A = [to_m(p, o) for p in r1[:-1]]
    B = [to_m(p, o) for p in r2[:-1]]
    for poly in (A, B):
        n = len(poly)
        for k in range(n):
            ex, ey = poly[(k + 1) % n][0] - poly[k][0], poly[(k + 1) % n][1] - poly[k][1]
            ax, ay = -ey, ex
            pa = [ax * x + ay * y for x, y in A]
            pb = [ax * x + ay * y for x, y in B]
            if max(pa) < min(pb) or max(pb) < min(pa):
                return False
    return True


def centroid(ring):
    pts = ring[:-1]
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


# --------------------------------------------------------------------------
# Code helpers (check characters)
# --------------------------------------------------------------------------


def id_check_char(first17):
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def _org_value(c):
    return int(c) if c.isdigit() else ord(c) - 55


def org_check_char(body8):
    c = 11 - sum(_org_value(ch) * w for ch, w in zip(body8, ORG_WEIGHTS)) % 11
    return "X" if c == 10 else ("0" if c == 11 else str(c))


def uscc_check_char(first17):
    c = 31 - sum(USCC_CHARS.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS)) % 31
    return USCC_CHARS[0 if c == 31 else c]


# --------------------------------------------------------------------------
# JSON output: objects indented by 2, arrays of scalars / coordinate arrays inline
# --------------------------------------------------------------------------


def _inline(o):
    if isinstance(o, list):
        return all(_inline(x) for x in o)
    return not isinstance(o, dict)


def dumps(o, level=0):
    ind = "  "
    if isinstance(o, dict):
        if not o:
            return "{}"
        items = [
            ind * (level + 1) + json.dumps(k, ensure_ascii=False) + ": " + dumps(v, level + 1)
            for k, v in o.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + ind * level + "}"
    if isinstance(o, list):
        if _inline(o):
            return json.dumps(o, ensure_ascii=False, separators=(", ", ": "))
        items = [ind * (level + 1) + dumps(v, level + 1) for v in o]
        return "[\n" + ",\n".join(items) + "\n" + ind * level + "]"
    return json.dumps(o, ensure_ascii=False)


def write(name, obj):
    with open(os.path.join(OUT_DIR, name), "w", encoding="utf-8", newline="\n") as f:
        f.write(dumps(obj) + "\n")


# --------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------

rng = random.Random(SEED)


def rand_date(a, b):
    return a + dt.timedelta(days=rng.randint(0, (b - a).days))


def money_fen(yuan, step_yuan=100):
    """Yuan -> integer fen, rounded to step_yuan."""
    return int(round(yuan / step_yuan)) * step_yuan * 100


def build_lattice():
    V = {}
    for j in range(NY + 1):
        for i in range(NX + 1):
            jx = rng.uniform(-JITTER, JITTER)
            jy = rng.uniform(-JITTER, JITTER)
            # the district's outer boundary wiggles less than the interior
            if i in (0, NX):
                jx *= 0.5
            if j in (0, NY):
                jy *= 0.5
            V[(i, j)] = (r6(LON0 + (i + jx) * DLON), r6(LAT0 + (j + jy) * DLAT))
    return V


def cell_ring(V, i, j):
    return [V[(i, j)], V[(i + 1, j)], V[(i + 1, j + 1)], V[(i, j + 1)], V[(i, j)]]


def block_ring(V, i0, i1, j0, j1):
    """CCW outline of cells i0..i1 x j0..j1 through every lattice vertex on it."""
    ring = [V[(i, j0)] for i in range(i0, i1 + 2)]
    ring += [V[(i1 + 1, j)] for j in range(j0 + 1, j1 + 2)]
    ring += [V[(i, j1 + 1)] for i in range(i1, i0 - 1, -1)]
    ring += [V[(i0, j)] for j in range(j1, j0 - 1, -1)]
    return ring


def main():
    V = build_lattice()

    # ---- townships and villages -------------------------------------------
    townships = []
    villages = []
    stems = list(VILLAGE_STEMS)
    rng.shuffle(stems)
    stem_iter = iter(stems)
    for num, tname, i0, i1, j0, j1 in sorted(TOWNSHIP_BLOCKS):
        tcode = f"{DISTRICT_PREFIX}{num}000"
        tring = block_ring(V, i0, i1, j0, j1)
        tw = {"code": tcode, "name": tname, "ring": tring, "villages": []}
        townships.append(tw)
        cells = [(i, j) for j in range(j1, j0 - 1, -1) for i in range(i0, i1 + 1)]  # NW first
        for k, (i, j) in enumerate(cells):
            if tname == "东川镇" and k == 2:
                stem = "白家"
            elif tname == "苏山乡" and k == 4:
                stem = "刘家"
            else:
                stem = next(stem_iter)
            v = {
                "code": f"{tcode[:9]}2{k + 1:02d}",
                "name": stem + "村",
                "stem": stem,
                "township": tw,
                "ring": cell_ring(V, i, j),
                "cell": (i, j),
            }
            v["centre"] = centroid(v["ring"])
            assert is_strictly_convex(v["ring"]), v["code"]
            tw["villages"].append(v)
            villages.append(v)
    vby_name = {v["name"]: v for v in villages}
    tw_by_name = {t["name"]: t for t in townships}

    # ---- demo site villages -------------------------------------------------
    def pick_village(tname):
        vs = tw_by_name[tname]["villages"]
        return vs[rng.randrange(len(vs))]

    demo_villages = [
        vby_name["白家村"],
        vby_name["刘家村"],
        pick_village("云溪乡"),
        pick_village("松湖镇"),
        pick_village("鹤田镇"),
        pick_village("柘源镇"),
    ]
    demo_codes = [v["code"] for v in demo_villages]
    # REVITALIZED assets wanted per demo village
    demo_revit = {demo_codes[0]: 6, demo_codes[1]: 5, demo_codes[2]: 4,
                  demo_codes[3]: 4, demo_codes[4]: 3, demo_codes[5]: 3}

    # ---- dominant surnames per village -------------------------------------
    for v in villages:
        s0 = v["stem"][0]
        if v["stem"][1] in "家坊" and s0 in SURNAMES:
            v["surnames"] = [s0, rng.choice(SURNAMES)]
        else:
            v["surnames"] = rng.sample(SURNAMES, 2)

    # ---- asset counts -------------------------------------------------------
    counts = {}
    for v in villages:
        if v["code"] == demo_codes[0]:
            counts[v["code"]] = 14
        elif v["code"] == demo_codes[1]:
            counts[v["code"]] = 12
        elif v["code"] in demo_codes:
            counts[v["code"]] = rng.randint(9, 11)
        else:
            counts[v["code"]] = rng.randint(3, 9)
    normal = [v["code"] for v in villages if v["code"] not in demo_codes]
    while sum(counts.values()) > N_ASSETS:
        c = rng.choice(normal)
        if counts[c] > 3:
            counts[c] -= 1
    while sum(counts.values()) < N_ASSETS:
        c = rng.choice(normal)
        if counts[c] < 10:
            counts[c] += 1

    # ---- asset geometry -----------------------------------------------------
    assets = []
    for v in villages:
        ring = v["ring"]
        n = counts[v["code"]]
        is_demo = v["code"] in demo_codes
        ngroups = rng.randint(2, 5)
        group_nos = sorted(rng.sample(range(1, 9), ngroups))
        gcentres = []
        while len(gcentres) < ngroups:
            r, a = rng.uniform(100, 650), rng.uniform(0, 2 * math.pi)
            c = from_m(v["centre"], r * math.cos(a), r * math.sin(a))
            if min_edge_dist_m(c, ring) >= 350 and all(dist_m(c, g) >= 250 for g in gcentres):
                gcentres.append(c)
        house_nos = {g: rng.sample(range(1, 90), 40) for g in group_nos}
        placed = []
        for _ in range(n):
            kind = "IDLE_FARMHOUSE" if rng.random() < (0.75 if is_demo else 0.63) else "IDLE_HOMESTEAD"
            for _attempt in range(5000):
                gi = rng.randrange(ngroups)
                c = from_m(gcentres[gi], rng.gauss(0, 110), rng.gauss(0, 110))
                p = (r6(c[0]), r6(c[1]))
                if not point_in_ring(p, ring) or min_edge_dist_m(p, ring) < MIN_EDGE_M:
                    continue
                if any(dist_m(p, q["point"]) < MIN_SPACING_M for q in placed):
                    continue
                fp, fp_area = make_footprint(kind, p, ring, is_demo)
                if fp is False:
                    continue
                break
            else:
                raise AssertionError(f"could not place asset in {v['code']}")
            a = {
                "village": v, "kind": kind, "point": p, "footprint": fp, "fpArea": fp_area,
                "group": group_nos[gi], "houseNo": house_nos[group_nos[gi]].pop(),
            }
            placed.append(a)
        placed.sort(key=lambda a: (a["group"], a["houseNo"]))
        for k, a in enumerate(placed):
            a["code"] = f"{v['code']}-{k + 1:04d}"
        v["assets"] = placed
        assets.extend(placed)
    assert len(assets) == N_ASSETS

    # ---- households and ownership --------------------------------------------
    pairs = {v["code"]: min(counts[v["code"]] // 2, round(counts[v["code"]] * 0.3)) for v in villages}
    target_pairs = N_ASSETS - N_HOUSEHOLDS
    while sum(pairs.values()) < target_pairs:
        c = rng.choice(villages)["code"]
        if pairs[c] < counts[c] // 2:
            pairs[c] += 1
    while sum(pairs.values()) > target_pairs:
        c = rng.choice(villages)["code"]
        if pairs[c] > 0:
            pairs[c] -= 1

    households = []
    used_ids, used_phones = set(), set()
    phone_prefixes = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                      "152", "153", "155", "157", "158", "159", "180", "181", "182", "183", "186",
                      "187", "188", "189", "191", "193", "198", "199"]
    for v in villages:
        vassets = list(v["assets"])
        rng.shuffle(vassets)
        nh = counts[v["code"]] - pairs[v["code"]]
        nos = sorted(rng.sample(range(1, 420), nh))
        hh = []
        names_used = set()
        for no in nos:
            male = rng.random() < 0.82
            while True:
                r = rng.random()
                sur = v["surnames"][0] if r < 0.55 else (v["surnames"][1] if r < 0.75 else rng.choice(SURNAMES))
                pool = MALE_CHARS if male else FEMALE_CHARS
                given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.8 else "")
                name = sur + given
                if name not in names_used and given[0] != sur:
                    names_used.add(name)
                    break
            while True:
                birth = rand_date(dt.date(1940, 1, 1), dt.date(1995, 12, 31))
                seq = rng.randrange(0, 1000)
                if seq % 2 != (1 if male else 0):
                    seq = (seq + 1) % 1000
                first17 = f"{DISTRICT_PREFIX}{birth:%Y%m%d}{seq:03d}"
                idn = first17 + id_check_char(first17)
                if idn not in used_ids:
                    used_ids.add(idn)
                    break
            phone = None
            if rng.random() > 0.06:
                while True:
                    # middle block fixed to 5550 to keep clear of real subscribers' numbers
                    phone = rng.choice(phone_prefixes) + "5550" + f"{rng.randrange(10000):04d}"
                    if phone not in used_phones:
                        used_phones.add(phone)
                        break
            key = f"{v['code']}{no:04d}"
            h = {"key": key, "kind": "HOUSEHOLD", "name": name, "householdNo": key, "creditCode": None,
                 "idNumber": idn, "phone": phone, "villageCode": v["code"], "birth": birth, "assets": []}
            hh.append(h)
        for k, a in enumerate(vassets[:nh]):
            hh[k]["assets"].append(a)
        # the remaining assets go to randomly chosen households, which then own two
        for k, a in zip(sorted(rng.sample(range(nh), len(vassets) - nh)), vassets[nh:]):
            hh[k]["assets"].append(a)
        for h in hh:
            for a in h["assets"]:
                a["owner"] = h
        households.extend(hh)
    assert len(households) == N_HOUSEHOLDS

    # ---- status ---------------------------------------------------------------
    for a in assets:
        a["status"] = None
    revit = []
    for vc in demo_codes:
        v = next(x for x in villages if x["code"] == vc)
        fh = [a for a in v["assets"] if a["kind"] == "IDLE_FARMHOUSE"]
        hs = [a for a in v["assets"] if a["kind"] == "IDLE_HOMESTEAD"]
        rng.shuffle(fh)
        rng.shuffle(hs)
        want = demo_revit[vc]
        n_hs = 0 if vc == demo_codes[0] else min(len(hs), 1 if want <= 4 else 2)
        chosen = hs[:n_hs] + fh[: want - n_hs]
        assert len(chosen) == want, vc
        for a in chosen:
            a["status"] = "REVITALIZED"
        revit.extend(chosen)
    others = [a for a in assets if a["village"]["code"] not in demo_codes]
    pool = [a for a in others if a["status"] is None]
    weights = [4 if a["kind"] == "IDLE_FARMHOUSE" else 1 for a in pool]
    while len([a for a in assets if a["status"] == "REVITALIZED"]) < len(revit) + N_REVITALIZED_OTHER:
        a = rng.choices(pool, weights)[0]
        a["status"] = "REVITALIZED"
    pool = [a for a in others if a["status"] is None]
    weights = [(6 if a["kind"] == "IDLE_HOMESTEAD" else 1) * (3 if len(a["owner"]["assets"]) == 2 else 1)
               for a in pool]
    while len([a for a in assets if a["status"] == "RELINQUISHED"]) < N_RELINQUISHED:
        a = rng.choices(pool, weights)[0]
        if a["status"] is None:
            a["status"] = "RELINQUISHED"
    for status, n in (("NEGOTIATING", N_NEGOTIATING), ("WITHDRAWN", N_WITHDRAWN)):
        pool = [a for a in assets if a["status"] is None]
        for a in rng.sample(pool, n):
            a["status"] = status
    for a in assets:
        if a["status"] is None:
            r = rng.random()
            a["status"] = "IDENTIFIED" if r < 0.35 else ("VERIFIED" if r < 0.75 else "LISTED")

    # ---- parties: collectives, cooperatives, enterprises -----------------------
    deal_villages = {a["village"]["code"] for a in assets if a["status"] in ("REVITALIZED", "RELINQUISHED")}
    coll_villages = [v for v in villages if v["code"] in deal_villages or v["code"] in demo_codes]
    used_uscc = set()

    def uscc(prefix2, body_lead=""):
        while True:
            chars = USCC_CHARS if body_lead else USCC_CHARS[:10]  # "MA..." bodies also use letters
            body = body_lead + "".join(rng.choice(chars) for _ in range(8 - len(body_lead)))
            org = body + org_check_char(body)
            first17 = prefix2 + DISTRICT_PREFIX + org
            code = first17 + uscc_check_char(first17)
            if code not in used_uscc:
                used_uscc.add(code)
                return code

    collectives = {}
    for v in coll_villages:
        key = uscc("N2")
        name = v["name"] + ("股份经济合作社" if rng.random() < 0.75 or v["code"] in demo_codes else "经济合作社")
        collectives[v["code"]] = {"key": key, "kind": "COLLECTIVE", "name": name, "householdNo": None,
                                  "creditCode": key, "idNumber": None, "phone": None, "villageCode": v["code"]}

    bj, lj, yx, sh, ht, zy = demo_villages

    def coop(v, what):
        key = uscc("93")
        return {"key": key, "kind": "COOPERATIVE", "name": f"{DISTRICT_NAME}{v['stem']}{what}专业合作社",
                "householdNo": None, "creditCode": key, "idNumber": None, "phone": None, "villageCode": v["code"]}

    coops = {
        "lotus": coop(lj, "水果莲种植"),
        "tea": coop(sh, "茶叶"),
    }
    coop_themes = ["油茶", "蜜桔", "蔬菜", "中药材", "肉牛养殖", "稻虾共作", "竹木加工", "食用菌"]
    cand = [v for v in villages if v["code"] in deal_villages and v["code"] not in demo_codes]
    cand_tw = []
    for v in cand:  # at most one cooperative per township from this list, then fill
        if v["township"]["code"] not in [c["township"]["code"] for c in cand_tw]:
            cand_tw.append(v)
    extra = [v for v in cand if v not in cand_tw]
    rng.shuffle(extra)
    cand_tw = (cand_tw + extra)[: len(coop_themes)]
    for v, theme in zip(cand_tw, coop_themes):
        coops[theme] = coop(v, theme)

    def ent(name, prefix2="91", village=None):
        key = uscc(prefix2, "MA" if prefix2 == "91" else "")
        return {"key": key, "kind": "ENTERPRISE", "name": name, "householdNo": None, "creditCode": key,
                "idNumber": None, "phone": None, "villageCode": village["code"] if village else None}

    ents = {
        "qixing": ent("青岚七星文旅发展有限公司"),
        "yanxue": ent(f"青岚{yx['township']['name'][:2]}研学教育科技有限公司"),
        "dianshang": ent("青岚乡货通农村电商服务有限公司"),
        "kangyi": ent("青岚康颐养老服务有限公司"),
        "zhuli": ent("青岚竹里民宿管理有限公司"),
        "shanju": ent("青岚山居酒店管理有限公司"),
        "tianyuan": ent("青岚田园农旅开发有限公司"),
        "hefeng": ent("青岚禾丰农业发展有限公司"),
        "songhutea": ent(f"青岚{sh['township']['name'][:2]}茶业有限公司", village=sh),
        "gucun": ent("青岚古村落保护开发有限公司"),
        "xiangjian": ent("青岚乡建文化创意有限公司"),
        "shunda": ent("青岚顺达仓储物流有限公司"),
        "xipan": ent(f"{DISTRICT_NAME}东川镇溪畔民宿", "92", bj),
        "hexiang": ent(f"{DISTRICT_NAME}苏山乡荷香农家乐", "92", lj),
        "guiyuan": ent(f"{DISTRICT_NAME}{yx['township']['name']}归园民宿", "92", yx),
    }

    # ---- revitalization deals (plan) -------------------------------------------
    SPLITS = {
        "622": {"collective": 0.6, "operator": 0.2, "farmer": 0.2},
        "82": {"collective": 0.2, "operator": 0.0, "farmer": 0.8},
        "532": {"collective": 0.5, "operator": 0.3, "farmer": 0.2},
        "343": {"collective": 0.3, "operator": 0.4, "farmer": 0.3},
        "154": {"collective": 0.15, "operator": 0.45, "farmer": 0.4},
    }
    # (mode, endUse, counterparty, split) per demo village, in order of start date
    C = lambda v: collectives[v["code"]]  # noqa: E731
    demo_plan = {
        # Houses are contributed to the village's stock cooperative, which runs 七星山庄 with
        # the operator; the homestay leases are the operator's own.
        bj["code"]: [("EQUITY_CONTRIBUTION", "民宿", C(bj), "622"),
                     ("EQUITY_CONTRIBUTION", "民宿", C(bj), "622"),
                     ("HOMESTAY", "民宿", ents["qixing"], None),
                     ("EQUITY_CONTRIBUTION", "康养民宿", C(bj), "622"),
                     ("LEASE", "农家乐", ents["xipan"], None),
                     ("HOMESTAY", "民宿", ents["qixing"], "622")],
        lj["code"]: [("COOPERATIVE_OPERATION", "水果莲加工坊", coops["lotus"], "82"),
                     ("LEASE", "农家乐", ents["hexiang"], None),
                     ("COOPERATIVE_OPERATION", "仓储", coops["lotus"], "82"),
                     ("COOPERATIVE_OPERATION", "研学基地", coops["lotus"], "82"),
                     ("LEASE", "电商服务站", ents["dianshang"], None)],
        yx["code"]: [("LEASE", "研学基地", ents["yanxue"], None),
                     ("LEASE", "研学基地", ents["yanxue"], None),
                     ("HOMESTAY", "民宿", ents["guiyuan"], None),
                     ("EQUITY_CONTRIBUTION", "研学基地", ents["yanxue"], "532")],
        sh["code"]: [("EQUITY_CONTRIBUTION", "手工作坊", C(sh), "622"),
                     ("COOPERATIVE_OPERATION", "茶叶加工坊", coops["tea"], "82"),
                     ("LEASE", "民宿", ents["songhutea"], None),
                     ("EQUITY_CONTRIBUTION", "茶室", ents["songhutea"], "532")],
        ht["code"]: [("LEASE", "养老服务点", ents["kangyi"], None),
                     ("COOPERATIVE_OPERATION", "老年食堂", C(ht), "343"),
                     ("LEASE", "养老服务点", ents["kangyi"], None)],
        zy["code"]: [("LEASE", "电商服务站", ents["dianshang"], None),
                     ("LEASE", "仓储", ents["shunda"], None),
                     ("LEASE", "电商服务站", ents["dianshang"], None)],
    }
    # designation year and first indicator year per demo village
    demo_years = {bj["code"]: (2021, 2021, 2024), lj["code"]: (2020, 2021, 2024), yx["code"]: (2022, 2022, 2024),
                  sh["code"]: (2021, 2021, 2023), ht["code"]: (2022, 2022, 2024), zy["code"]: (2021, 2021, 2024)}

    deals = []
    for vc in demo_codes:
        v = next(x for x in villages if x["code"] == vc)
        ras = [a for a in v["assets"] if a["status"] == "REVITALIZED"]
        rng.shuffle(ras)
        desig, y0, _y1 = demo_years[vc]
        first_lo = dt.date(min(desig, y0) - 2, 3, 1)
        first_hi = dt.date(min(desig, y0) - 1, 10, 31)
        starts = [rand_date(first_lo, first_hi)]
        starts += sorted(rand_date(first_hi, dt.date(2025, 6, 30)) for _ in ras[1:])
        for a, (mode, use, cp, split), start in zip(ras, demo_plan[vc], starts):
            deals.append({"asset": a, "mode": mode, "endUse": use, "cp": cp, "split": split, "start": start})

    other_modes = (["LEASE"] * 6 + ["HOMESTAY"] * 3 + ["EQUITY_CONTRIBUTION"] * 2
                   + ["COOPERATIVE_OPERATION"] * 2 + ["TRANSFER"] * 2)
    others_r = [a for a in assets if a["status"] == "REVITALIZED" and a["village"]["code"] not in demo_codes]
    others_r.sort(key=lambda a: a["code"])
    rng.shuffle(other_modes)
    assert len(other_modes) == len(others_r)
    transfer_null_done = False
    for a, mode in zip(others_r, other_modes):
        v = a["village"]
        tw_coops = [c for c in coops.values()
                    if c["villageCode"] and c["villageCode"][:9] == v["code"][:9]]
        split = None
        if mode == "LEASE":
            use = rng.choice(["农家乐", "仓储", "手工作坊", "电商服务站", "文创工作室", "乡村书屋"]
                             if a["kind"] == "IDLE_FARMHOUSE" else ["仓储", "共享菜园", "停车场"])
            cp = {"仓储": ents["shunda"], "电商服务站": ents["dianshang"], "文创工作室": ents["xiangjian"],
                  "乡村书屋": C(v), "共享菜园": C(v), "停车场": C(v)}.get(
                use, rng.choice([ents["tianyuan"], ents["hefeng"], ents["xiangjian"]]))
        elif mode == "HOMESTAY":
            use = "民宿"
            cp = rng.choice([ents["zhuli"], ents["shanju"], ents["gucun"]])
        elif mode == "EQUITY_CONTRIBUTION":
            use = rng.choice(["民宿", "农家乐", "研学基地"])
            cp = rng.choice([ents["gucun"], ents["tianyuan"]])
            split = rng.choice(["622", "532", "154"])
        elif mode == "COOPERATIVE_OPERATION":
            use = rng.choice(["农产品加工坊", "手工作坊", "共享菜园"])
            cp = tw_coops[0] if tw_coops else C(v)
            split = rng.choice(["82", "343"])
        else:  # TRANSFER
            if not transfer_null_done:
                use, cp = "村民自住", None   # transferred to another member of the collective
                transfer_null_done = True
            else:
                use, cp = "集体收储再利用", C(v)
        start = rand_date(dt.date(2017, 6, 1), DEAL_MAX)
        deals.append({"asset": a, "mode": mode, "endUse": use, "cp": cp, "split": split, "start": start})

    for a in sorted([a for a in assets if a["status"] == "RELINQUISHED"], key=lambda a: a["code"]):
        use = rng.choice(["复垦耕地", "集体收储", "村级公共设施"])
        deals.append({"asset": a, "mode": "PAID_RELINQUISHMENT", "endUse": use, "cp": C(a["village"]),
                      "split": None, "start": rand_date(dt.date(2019, 3, 1), dt.date(2025, 9, 30))})
    for d in deals:
        d["asset"]["deal"] = d

    # ---- asset attributes ---------------------------------------------------------
    def wchoice(table):
        keys = [k for k, _ in table]
        return rng.choices(keys, [w for _, w in table])[0]

    for a in assets:
        st, kind, d = a["status"], a["kind"], a.get("deal")
        if kind == "IDLE_FARMHOUSE":
            structure = wchoice([("BRICK_CONCRETE", 45), ("BRICK_WOOD", 30), ("EARTH_WOOD", 15),
                                 ("FRAME", 4), ("SIMPLE", 6)])
            lo, hi = {"EARTH_WOOD": (1965, 1988), "BRICK_WOOD": (1970, 1998), "BRICK_CONCRETE": (1985, 2015),
                      "FRAME": (2000, 2015), "SIMPLE": (1975, 2012)}[structure]
            year = rng.randint(lo, hi)
            floors = 1 if structure in ("EARTH_WOOD", "SIMPLE") else rng.choice([1, 2, 2, 3])
            fa = a["fpArea"] * floors * rng.uniform(0.88, 0.97)
            floor_area = round(min(320.0, max(80.0, fa)), 1)
            if st == "REVITALIZED":
                cond = wchoice([("GOOD", 7), ("FAIR", 3)])
            else:
                base = [("GOOD", 25), ("FAIR", 45), ("POOR", 22), ("DILAPIDATED", 8)]
                if structure in ("EARTH_WOOD", "SIMPLE"):
                    base = [("GOOD", 5), ("FAIR", 30), ("POOR", 40), ("DILAPIDATED", 25)]
                cond = wchoice(base)
            cause = wchoice([("MIGRATED_TO_CITY", 58), ("INHERITED", 17), ("MULTIPLE_HOMESTEADS", 10),
                             ("DILAPIDATED", 5), ("OTHER", 10)])
            if cause == "DILAPIDATED" and cond not in ("POOR", "DILAPIDATED"):
                cause = "MIGRATED_TO_CITY"
        else:
            structure = None if rng.random() < 0.45 else wchoice([("EARTH_WOOD", 7), ("SIMPLE", 3)])
            year = rng.randint(1955, 1985) if structure and rng.random() < 0.5 else None
            floor_area = round(rng.uniform(18, 60), 1) if structure and rng.random() < 0.6 else None
            cond = wchoice([("DILAPIDATED", 50), ("POOR", 35), ("FAIR", 15)])
            if st == "REVITALIZED":
                cond = wchoice([("FAIR", 6), ("POOR", 4)])
            cause = wchoice([("DILAPIDATED", 45), ("MULTIPLE_HOMESTEADS", 18), ("MIGRATED_TO_CITY", 22),
                             ("INHERITED", 10), ("OTHER", 5)])
        # 一户多宅: for a household with two idle assets, mark the homestead (or the older house)
        own = a["owner"]["assets"]
        if len(own) == 2 and rng.random() < 0.6:
            other = own[1] if own[0] is a else own[0]
            if kind != other["kind"]:
                mark = kind == "IDLE_HOMESTEAD"
            else:
                mark = a["code"] < other["code"]
            if mark:
                cause = "MULTIPLE_HOMESTEADS"

        # idle since: before any deal, after construction
        earliest = max(IDLE_MIN, dt.date((year or 1990) + 2, 1, 1))
        if d:
            latest = d["start"] - dt.timedelta(days=rng.randint(120, 900))
            latest = max(latest, IDLE_MIN)
            if latest < earliest:
                earliest = IDLE_MIN
                if year and year > latest.year - 2:
                    year = latest.year - rng.randint(3, 10)
        else:
            latest = IDLE_MAX
        idle = rand_date(earliest, latest)

        mode = d["mode"] if d else None
        if st == "REVITALIZED":
            will = {"LEASE": "LEASE", "HOMESTAY": "LEASE", "EQUITY_CONTRIBUTION": "EQUITY",
                    "COOPERATIVE_OPERATION": "COOPERATION", "TRANSFER": "RELINQUISH"}[mode]
        elif st == "RELINQUISHED":
            will = "RELINQUISH"
        elif st == "NEGOTIATING":
            will = wchoice([("LEASE", 5), ("EQUITY", 3), ("COOPERATION", 2), ("RELINQUISH", 2)])
        elif st == "WITHDRAWN":
            will = wchoice([("NONE", 4), ("UNDECIDED", 2)])
        elif st == "LISTED":
            will = wchoice([("LEASE", 6), ("EQUITY", 3), ("COOPERATION", 2), ("RELINQUISH", 1)])
        elif st == "VERIFIED":
            will = wchoice([("LEASE", 4), ("EQUITY", 2), ("COOPERATION", 2), ("RELINQUISH", 1),
                            ("UNDECIDED", 4), ("NONE", 2)])
        else:
            will = wchoice([("UNDECIDED", 4), ("LEASE", 2), ("NONE", 1), (None, 4)])

        if st == "IDENTIFIED":  # staged completion: first-pass survey records have gaps
            if rng.random() < 0.2:
                cond = None
            if rng.random() < 0.15:
                cause = None
            if rng.random() < 0.25:
                year = None
            if rng.random() < 0.15:
                floor_area = None
            if rng.random() < 0.1:
                structure = None
            if rng.random() < 0.06:
                idle = None
        a.update(structure=structure, yearBuilt=year, floorAreaM2=floor_area, condition=cond,
                 idleSince=idle, idleCause=cause, ownerWillingness=will)

    # ---- revitalization records ------------------------------------------------------
    deals.sort(key=lambda d: (d["start"], d["asset"]["code"]))
    seq_by_year = {}
    revitalizations = []
    for d in deals:
        a = d["asset"]
        y = d["start"].year
        seq_by_year[y] = seq_by_year.get(y, 0) + 1
        d["contractNo"] = f"QL-{y}-{seq_by_year[y]:04d}"
        mode, use = d["mode"], d["endUse"]
        area = a["floorAreaM2"] or (a["fpArea"] * 0.8 if a["fpArea"] else 120.0)
        term = rent = invest = jobs = comp = None
        if mode == "PAID_RELINQUISHMENT":
            plot = a["fpArea"] or rng.uniform(120, 220)
            comp = money_fen(plot * rng.uniform(220, 420) + (a["floorAreaM2"] or 0) * rng.uniform(300, 600), 100)
            invest = None
            jobs = None
        elif mode == "TRANSFER":
            term = None if rng.random() < 0.5 else 240
            rent = None
            invest = money_fen(rng.uniform(20000, 120000), 1000) if rng.random() < 0.5 else None
            jobs = 0 if d["cp"] is None else None
        else:
            if mode in ("HOMESTAY", "EQUITY_CONTRIBUTION"):
                term = rng.choice([120, 180, 180, 240, 240])
                invest = money_fen(rng.uniform(300000, 1800000), 1000)
                jobs = rng.randint(2, 8)
            elif mode == "COOPERATIVE_OPERATION":
                term = rng.choice([36, 60, 96, 120, 180])
                invest = money_fen(rng.uniform(80000, 900000), 1000)
                jobs = rng.randint(1, 10)
            else:
                term = rng.choice([60, 96, 120, 120, 180, 240])
                lo, hi = LIGHT_USE_INVESTMENT.get(use, (50000, 800000))
                invest = money_fen(rng.uniform(lo, hi), 1000)
                jobs = rng.randint(0, 6) if use not in ("研学基地", "养老服务点") else rng.randint(3, 10)
            if mode in ("LEASE", "HOMESTAY") or (mode == "EQUITY_CONTRIBUTION" and rng.random() < 0.3) \
                    or (mode == "COOPERATIVE_OPERATION" and rng.random() < 0.3):
                # rent (or guaranteed minimum) roughly yuan 20-90 per m2 per year
                rate = rng.uniform(20, 90) if a["kind"] == "IDLE_FARMHOUSE" else rng.uniform(10, 35)
                rent = min(3000000, max(300000, money_fen(area * rate, 100)))
            if rng.random() < 0.1:
                jobs = None
            if rng.random() < 0.08:
                invest = None
        d.update(term=term, rent=rent, invest=invest, jobs=jobs, comp=comp)
        revitalizations.append({
            "contractNo": d["contractNo"],
            "assetCode": a["code"],
            "mode": mode,
            "endUse": use,
            "counterpartyKey": d["cp"]["key"] if d["cp"] else None,
            "startDate": d["start"].isoformat(),
            "termMonths": term,
            "annualRentFen": rent,
            "investmentFen": invest,
            "jobsCreated": jobs,
            "compensationFen": comp,
            "revenueSplit": dict(SPLITS[d["split"]]) if d["split"] else None,
        })
    revitalizations.sort(key=lambda r: r["contractNo"])

    # ---- demo sites -----------------------------------------------------------------
    SITE_CFG = [
        # village, name, level, theme, operator, indicators {code: (start, end)} (yuan or count)
        (bj, "东川白家七星山庄", "PROVINCE", "民宿康养", ents["qixing"], {
            "COLLECTIVE_OPERATING_INCOME": (120000, 1050000), "COLLECTIVE_TOTAL_ASSETS": (3800000, 9600000),
            "HOUSEHOLDS_BENEFITED": (16, 54), "AVG_HOUSEHOLD_INCOME_GAIN": (11000, 31000),
            "JOBS_CREATED": (18, 66), "IDLE_HOUSES_REVITALIZED": None, "ROOMS_OR_BEDS": (22, 78),
            "VISITORS": (9000, 68000), "DIVIDENDS_PAID": (60000, 420000)},
         "白家村村集体与青岚七星文旅发展有限公司合作，将村内闲置农房以入股、租赁方式统一改造为“七星山庄”山地民宿康养集群。"
         "入股农房按“6+2+2”模式分配收益，村集体、运营方、农户分别占60%、20%、20%。"),
        (lj, "刘家苏山水果莲基地", "CITY", "水果莲种植与观光", coops["lotus"], {
            "COLLECTIVE_OPERATING_INCOME": (200000, 820000), "HOUSEHOLDS_BENEFITED": (45, 128),
            "AVG_HOUSEHOLD_INCOME_GAIN": (6000, 18500), "JOBS_CREATED": (35, 96),
            "LABOUR_INCOME_PAID": (420000, 1650000), "IDLE_HOUSES_REVITALIZED": None,
            "IDLE_HOMESTEAD_AREA_REVITALIZED": None, "VISITORS": (15000, 52000)},
         "刘家村依托水果莲种植专业合作社连片种植水果莲，并利用闲置农房和宅基地建设加工坊、农家乐和研学点。"
         "合作经营收益按农户八成、村集体两成分配，形成赏荷、采莲、研学一体的乡村游线路。"),
        (yx, f"{yx['township']['name'][:2]}{yx['stem']}研学营地", "DISTRICT", "乡村研学教育",
         ents["yanxue"], {
             "COLLECTIVE_OPERATING_INCOME": (90000, 310000), "JOBS_CREATED": (12, 30),
             "INVESTMENT_TOTAL": (1800000, 4200000), "IDLE_HOUSES_REVITALIZED": None,
             "ROOMS_OR_BEDS": (60, 160), "VISITORS": (4000, 15500)},
         f"{yx['name']}将闲置农房租赁给研学教育企业，改造为农耕体验和自然教育营地，主要接待中小学生研学团队。"),
        (sh, f"{sh['township']['name'][:2]}{sh['stem']}茶旅共富工坊", "CITY", "茶旅融合与手工作坊", C(sh), {
            "COLLECTIVE_OPERATING_INCOME": (160000, 540000), "COLLECTIVE_TOTAL_ASSETS": (2600000, 5100000),
            "HOUSEHOLDS_BENEFITED": (38, 85), "LABOUR_INCOME_PAID": (260000, 780000),
            "DIVIDENDS_PAID": (80000, 230000), "IDLE_HOUSES_REVITALIZED": None, "VISITORS": (6000, 21000)},
         f"{sh['name']}村集体以闲置农房入股，联合茶叶专业合作社和本地茶企建设茶叶加工与手作体验工坊，"
         "带动农户采茶、制茶就业并参与年终分红。"),
        (ht, f"{ht['township']['name'][:2]}{ht['stem']}颐养之家", "DISTRICT", "农村互助养老", ents["kangyi"], {
            "COLLECTIVE_OPERATING_INCOME": (50000, 160000), "HOUSEHOLDS_BENEFITED": (24, 60),
            "JOBS_CREATED": (6, 15), "LABOUR_INCOME_PAID": (150000, 420000),
            "INVESTMENT_TOTAL": (900000, 1600000), "IDLE_HOUSES_REVITALIZED": None, "ROOMS_OR_BEDS": (20, 46)},
         f"{ht['name']}利用闲置农房建设农村互助养老服务点和老年食堂，由专业养老机构运营，"
         "优先聘用本村留守妇女担任护理员。"),
        (zy, f"{zy['township']['name'][:2]}{zy['stem']}电商共富驿站", "DISTRICT", "农村电商与仓储物流",
         ents["dianshang"], {
             "COLLECTIVE_OPERATING_INCOME": (70000, 460000), "HOUSEHOLDS_BENEFITED": (60, 210),
             "AVG_HOUSEHOLD_INCOME_GAIN": (2500, 7800), "JOBS_CREATED": (8, 27),
             "IDLE_HOUSES_REVITALIZED": None, "IDLE_HOMESTEAD_AREA_REVITALIZED": None},
         f"{zy['name']}将沿路闲置农房改造为电商服务站和产地仓，统一收购、分拣、发运本地农特产品，"
         "村集体收取租金并参与经营分成。"),
    ]

    def source(code, year, v):
        tname = v["township"]["name"]
        if code in ("COLLECTIVE_OPERATING_INCOME", "COLLECTIVE_TOTAL_ASSETS", "DIVIDENDS_PAID"):
            return f"{DISTRICT_NAME}农业农村局年报 {year}"
        if code == "VISITORS":
            return f"{DISTRICT_NAME}文化广电旅游局游客统计 {year}"
        if code in ("JOBS_CREATED", "LABOUR_INCOME_PAID", "HOUSEHOLDS_BENEFITED", "AVG_HOUSEHOLD_INCOME_GAIN"):
            return f"{tname}人民政府工作总结 {year}"
        if code in ("IDLE_HOUSES_REVITALIZED", "IDLE_HOMESTEAD_AREA_REVITALIZED"):
            return f"{DISTRICT_NAME}两闲盘活台账 {year}"
        return f"运营主体经营台账 {year}"

    demo_sites = []
    for k, (v, name, level, theme, op, ind_cfg, desc) in enumerate(SITE_CFG):
        desig, y0, y1 = demo_years[v["code"]]
        years = list(range(y0, y1 + 1))
        linked = sorted((a for a in v["assets"] if a["status"] == "REVITALIZED"), key=lambda a: a["code"])
        # site point: near the linked assets, inside the cell
        mc = (sum(a["point"][0] for a in linked) / len(linked), sum(a["point"][1] for a in linked) / len(linked))
        while True:
            p = from_m(mc, rng.uniform(-80, 80), rng.uniform(-80, 80))
            p = (r6(p[0]), r6(p[1]))
            if point_in_ring(p, v["ring"]) and min_edge_dist_m(p, v["ring"]) >= MIN_EDGE_M:
                break
        # one shared progress curve per site, with mild noise per indicator
        ts = [0.0]
        for _ in years[1:-1]:
            ts.append(ts[-1] + (1.0 / (len(years) - 1)) * rng.uniform(0.75, 1.25))
        ts.append(1.0)
        ts = [min(t, 0.97) if 0 < t < 1 else t for t in ts]
        indicators = []
        for yi, year in enumerate(years):
            end = dt.date(year, 12, 31)
            started = [a for a in linked if a["deal"]["start"] <= end]
            for code, rngv in ind_cfg.items():
                if code == "IDLE_HOUSES_REVITALIZED":
                    val = len(started)
                elif code == "IDLE_HOMESTEAD_AREA_REVITALIZED":
                    val = int(round(sum(a["fpArea"] for a in started if a["fpArea"])))
                else:
                    s, e = rngv
                    t = min(1.0, max(0.0, ts[yi] + (rng.uniform(-0.05, 0.05) if 0 < yi < len(years) - 1 else 0)))
                    raw = s * (e / s) ** t
                    if code in MONEY_INDICATORS:
                        val = money_fen(raw, 100)
                    else:
                        val = int(round(raw))
                    if code == "JOBS_CREATED":
                        val = max(val, sum(a["deal"]["jobs"] or 0 for a in started))
                    if code == "INVESTMENT_TOTAL":
                        val = max(val, sum(a["deal"]["invest"] or 0 for a in started))
                    if code == "HOUSEHOLDS_BENEFITED":
                        val = max(val, len({a["owner"]["key"] for a in started}))
                    prev = [i["value"] for i in indicators if i["code"] == code]
                    if prev and val <= prev[-1]:
                        val = prev[-1] + (100 * 100 if code in MONEY_INDICATORS else 1)
                indicators.append({"year": year, "code": code, "value": val, "source": source(code, year, v)})
        demo_sites.append({
            "code": f"DS-{k + 1:03d}",
            "name": name,
            "level": level,
            "designationYear": desig,
            "theme": theme,
            "operatorKey": op["key"] if op else None,
            "description": desc,
            "lon": p[0],
            "lat": p[1],
            "assetCodes": [a["code"] for a in linked],
            "indicators": indicators,
        })

    # ---- assemble output ----------------------------------------------------------------
    township_fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": t["code"], "name": t["name"]},
         "geometry": {"type": "MultiPolygon", "coordinates": [[[list(p) for p in t["ring"]]]]}}
        for t in townships]}
    village_fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature",
         "properties": {"code": v["code"], "name": v["name"], "townshipCode": v["township"]["code"]},
         "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in v["ring"]]]}}
        for v in villages]}

    party_fields = ("key", "kind", "name", "householdNo", "creditCode", "idNumber", "phone", "villageCode")
    parties = [{f: h[f] for f in party_fields} for h in sorted(households, key=lambda h: h["key"])]
    parties += sorted(collectives.values(), key=lambda p: p["villageCode"])
    parties += sorted(coops.values(), key=lambda p: p["key"])
    parties += sorted(ents.values(), key=lambda p: p["key"])

    asset_out = []
    for a in sorted(assets, key=lambda a: a["code"]):
        v = a["village"]
        asset_out.append({
            "code": a["code"],
            "kind": a["kind"],
            "ownerKey": a["owner"]["key"],
            "lon": a["point"][0],
            "lat": a["point"][1],
            "footprint": {"type": "Polygon", "coordinates": [[list(p) for p in a["footprint"]]]}
            if a["footprint"] else None,
            "floorAreaM2": a["floorAreaM2"],
            "structure": a["structure"],
            "yearBuilt": a["yearBuilt"],
            "condition": a["condition"],
            "idleSince": a["idleSince"].isoformat() if a["idleSince"] else None,
            "idleCause": a["idleCause"],
            "ownerWillingness": a["ownerWillingness"],
            "status": a["status"],
            "address": f"{v['township']['name']}{v['name']}{a['group']}组{a['houseNo']}号",
        })

    write("townships.geojson", township_fc)
    write("villages.geojson", village_fc)
    import_files.write_parties(parties)
    import_files.write_assets(asset_out, dumps)
    import_files.write_revitalizations(revitalizations)
    write("demo_sites.json", demo_sites)


def make_footprint(kind, p, ring, force):
    """Rotated rectangle around p (near its centre), CCW, closed, inside ring.
    Returns (ring, area_m2), (None, None) for no footprint, or (False, None) to retry."""
    if kind == "IDLE_FARMHOUSE":
        while True:  # big enough that a one-storey house still has >= 80 m2 of floor area
            w, h = rng.uniform(8, 20), rng.uniform(8, 16)
            if w * h >= 92:
                break
    else:
        if not force and rng.random() < 0.3:
            return None, None
        A, asp = rng.uniform(100, 300), rng.uniform(1.0, 1.6)
        w = math.sqrt(A * asp)
        h = A / w
    th = math.radians(rng.uniform(-25, 25))
    cx, cy = rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)
    c, s = math.cos(th), math.sin(th)
    fp = []
    for x, y in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        q = from_m(p, cx + x * c - y * s, cy + x * s + y * c)
        fp.append((r6(q[0]), r6(q[1])))
    fp.append(fp[0])
    if not point_in_ring(p, fp) or not all(point_in_ring(q, ring) and min_edge_dist_m(q, ring) > 5 for q in fp):
        return False, None
    return fp, area_m2(fp)


# --------------------------------------------------------------------------
# Validation over the files as written
# --------------------------------------------------------------------------


def validate():
    def load(name):
        with open(os.path.join(OUT_DIR, name), encoding="utf-8") as f:
            return json.load(f)

    tfc, vfc = load("townships.geojson"), load("villages.geojson")
    parties, assets = import_files.read_parties(), import_files.read_assets()
    revs, sites = import_files.read_revitalizations(), load("demo_sites.json")

    # --- townships / villages
    assert tfc["type"] == "FeatureCollection" and vfc["type"] == "FeatureCollection"
    tws = {}
    for f in tfc["features"]:
        pr, g = f["properties"], f["geometry"]
        assert set(pr) == {"code", "name"}
        assert re.fullmatch(r"369901\d{3}000", pr["code"]) and pr["code"] not in tws
        assert re.search(r"(镇|乡|街道)$", pr["name"])
        assert g["type"] == "MultiPolygon" and len(g["coordinates"]) == 1 and len(g["coordinates"][0]) == 1
        ring = [tuple(p) for p in g["coordinates"][0][0]]
        check_ring(ring, pr["code"])
        tws[pr["code"]] = {"name": pr["name"], "ring": ring, "villages": []}
    assert len(tws) == 8
    vils = {}
    for f in vfc["features"]:
        pr, g = f["properties"], f["geometry"]
        assert set(pr) == {"code", "name", "townshipCode"}
        assert pr["townshipCode"] in tws and pr["code"] not in vils
        assert re.fullmatch(r"\d{9}2\d{2}", pr["code"]) and pr["code"][:9] == pr["townshipCode"][:9]
        assert pr["name"].endswith("村")
        assert g["type"] == "Polygon" and len(g["coordinates"]) == 1
        ring = [tuple(p) for p in g["coordinates"][0]]
        assert len(ring) == 5
        check_ring(ring, pr["code"])
        assert is_strictly_convex(ring), pr["code"]
        vils[pr["code"]] = {"name": pr["name"], "tw": pr["townshipCode"], "ring": ring}
        tws[pr["townshipCode"]]["villages"].append(pr["code"])
    assert len(vils) == 60
    assert len({v["name"] for v in vils.values()}) == 60, "village names must be unique"
    by_tname = {t["name"]: t for t in tws.values()}
    assert "白家村" in [vils[c]["name"] for c in by_tname["东川镇"]["villages"]]
    assert "刘家村" in [vils[c]["name"] for c in by_tname["苏山乡"]["villages"]]
    # township outline == boundary of the union of its village cells, vertex for vertex
    all_vertices = {p for v in vils.values() for p in v["ring"]}
    for tc, t in tws.items():
        edges = {}
        for vc in t["villages"]:
            r = vils[vc]["ring"]
            for a, b in zip(r, r[1:]):
                k = frozenset((a, b))
                edges[k] = edges.get(k, 0) + 1
        boundary = {k for k, n in edges.items() if n == 1}
        tring = t["ring"]
        tedges = {frozenset((a, b)) for a, b in zip(tring, tring[1:])}
        assert tedges == boundary, f"{tc}: outline does not follow its villages' cells"
        assert set(tring) <= all_vertices
        s = sum(area_m2(vils[vc]["ring"]) for vc in t["villages"])
        assert abs(s - area_m2(tring)) < 1e-3 * s, tc
    # township edges shared with neighbours: every interior edge appears in exactly two rings
    tedge_count = {}
    for t in tws.values():
        for a, b in zip(t["ring"], t["ring"][1:]):
            k = frozenset((a, b))
            tedge_count[k] = tedge_count.get(k, 0) + 1
    assert max(tedge_count.values()) <= 2
    for t in tws.values():
        for u in tws.values():
            if t is u:
                continue
            # rings of distinct townships never cross, only share edges
            for a, b in zip(t["ring"], t["ring"][1:]):
                for c, d in zip(u["ring"], u["ring"][1:]):
                    if segments_intersect(a, b, c, d):
                        shared = {a, b} & {c, d}
                        assert shared, "township boundaries cross"

    # --- parties
    pk = {}
    hh_nos, idnos, phones, usccs = set(), set(), set(), set()
    for p in parties:
        assert list(p) == ["key", "kind", "name", "householdNo", "creditCode", "idNumber", "phone", "villageCode"]
        assert p["key"] not in pk, p["key"]
        assert p["kind"] in PARTY_KINDS
        pk[p["key"]] = p
        if p["villageCode"] is not None:
            assert p["villageCode"] in vils
        if p["kind"] == "HOUSEHOLD":
            assert p["key"] == p["householdNo"] and p["creditCode"] is None
            assert re.fullmatch(r"\d{12}\d{4}", p["householdNo"]) and p["householdNo"][:12] == p["villageCode"]
            assert p["householdNo"] not in hh_nos
            hh_nos.add(p["householdNo"])
            idn = p["idNumber"]
            assert re.fullmatch(r"369901(19[4-9]\d)(\d{2})(\d{2})\d{3}[\dX]", idn), idn
            birth = dt.date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14]))
            assert dt.date(1940, 1, 1) <= birth <= dt.date(1995, 12, 31)
            assert idn[17] == id_check_char(idn[:17]), idn
            assert idn not in idnos
            idnos.add(idn)
            if p["phone"] is not None:
                assert re.fullmatch(r"1(3|5|8|9)\d{9}", p["phone"]) and p["phone"] not in phones
                phones.add(p["phone"])
            assert 2 <= len(p["name"]) <= 3
        else:
            cc = p["creditCode"]
            assert p["key"] == cc and p["householdNo"] is None and p["idNumber"] is None and p["phone"] is None
            assert len(cc) == 18 and all(ch in USCC_CHARS for ch in cc), cc
            assert cc[2:8] == DISTRICT_PREFIX
            assert cc[16] == org_check_char(cc[8:16]) and cc[17] == uscc_check_char(cc[:17]), cc
            assert cc not in usccs
            usccs.add(cc)
            if p["kind"] == "COLLECTIVE":
                assert cc.startswith("N2") and p["villageCode"] and p["name"].startswith(vils[p["villageCode"]]["name"])
            if p["kind"] == "COOPERATIVE":
                assert cc.startswith("93") and p["name"].endswith("专业合作社")
            if p["kind"] == "ENTERPRISE":
                assert cc[:2] in ("91", "92")
    collective_of = {}
    for p in parties:
        if p["kind"] == "COLLECTIVE":
            assert p["villageCode"] not in collective_of, "one collective per village"
            collective_of[p["villageCode"]] = p["key"]

    # --- assets
    ak = {}
    owned = {}
    fps = []
    for a in assets:
        assert a["code"] not in ak
        ak[a["code"]] = a
        assert re.fullmatch(r"\d{12}-\d{4}", a["code"])
        vc = a["code"][:12]
        assert vc in vils
        assert a["kind"] in ASSET_KINDS and a["status"] in STATUSES
        for f, allowed in (("structure", STRUCTURES), ("condition", CONDITIONS), ("idleCause", IDLE_CAUSES),
                           ("ownerWillingness", WILLINGNESS)):
            assert a[f] is None or a[f] in allowed, (a["code"], f)
        o = pk.get(a["ownerKey"])
        assert o and o["kind"] == "HOUSEHOLD" and o["villageCode"] == vc, a["code"]
        owned[a["ownerKey"]] = owned.get(a["ownerKey"], 0) + 1
        p = (a["lon"], a["lat"])
        assert [c for c, v in vils.items() if point_in_ring(p, v["ring"])] == [vc], a["code"]
        assert [c for c, t in tws.items() if point_in_ring(p, t["ring"])] == [vils[vc]["tw"]], a["code"]
        assert min_edge_dist_m(p, vils[vc]["ring"]) >= 30, a["code"]
        t = tws[vils[vc]["tw"]]
        assert a["address"].startswith(t["name"] + vils[vc]["name"]) and re.search(r"\d+组\d+号$", a["address"])
        if a["footprint"] is not None:
            g = a["footprint"]
            assert g["type"] == "Polygon" and len(g["coordinates"]) == 1
            r = [tuple(q) for q in g["coordinates"][0]]
            check_ring(r, a["code"] + " footprint")
            assert is_strictly_convex(r)
            assert point_in_ring(p, r), a["code"]
            assert all(point_in_ring(q, vils[vc]["ring"]) for q in r), a["code"]
            fa = area_m2(r)
            if a["kind"] == "IDLE_FARMHOUSE":
                assert 90 <= fa <= 330, (a["code"], fa)
                assert a["floorAreaM2"] is None or a["floorAreaM2"] <= 3 * fa, a["code"]
                if a["structure"] in ("EARTH_WOOD", "SIMPLE") and a["floorAreaM2"] is not None:
                    assert a["floorAreaM2"] <= fa, a["code"]  # single storey
            else:
                assert 95 <= fa <= 305, (a["code"], fa)
            fps.append((a["code"], r))
        else:
            assert a["kind"] == "IDLE_HOMESTEAD"
        if a["kind"] == "IDLE_FARMHOUSE":
            assert a["floorAreaM2"] is None or 80 <= a["floorAreaM2"] <= 320
            assert a["yearBuilt"] is None or 1965 <= a["yearBuilt"] <= 2015
        else:
            assert a["floorAreaM2"] is None or a["floorAreaM2"] < 80
            assert a["structure"] in (None, "EARTH_WOOD", "SIMPLE")
        if a["idleSince"] is not None:
            d = dt.date.fromisoformat(a["idleSince"])
            assert IDLE_MIN <= d <= IDLE_MAX
            if a["yearBuilt"] is not None:
                assert d.year > a["yearBuilt"], a["code"]
    assert all(n in (1, 2) for n in owned.values())
    assert {k for k, p in pk.items() if p["kind"] == "HOUSEHOLD"} == set(owned), "every household owns an asset"
    # footprints must not overlap (bounding-box prefilter, then separating axis test)
    fps.sort(key=lambda x: min(q[0] for q in x[1]))
    for i in range(len(fps)):
        ci, ri = fps[i]
        maxx = max(q[0] for q in ri)
        for j in range(i + 1, len(fps)):
            cj, rj = fps[j]
            if min(q[0] for q in rj) > maxx:
                break
            assert not convex_overlap(ri, rj), f"footprints overlap: {ci} {cj}"

    # --- revitalizations
    dealt = {}
    cnos = set()
    for r in revs:
        assert re.fullmatch(r"QL-(\d{4})-\d{4}", r["contractNo"]) and r["contractNo"] not in cnos
        cnos.add(r["contractNo"])
        a = ak[r["assetCode"]]
        assert r["assetCode"] not in dealt
        dealt[r["assetCode"]] = r
        assert r["mode"] in MODES
        start = dt.date.fromisoformat(r["startDate"])
        assert start.year == int(r["contractNo"][3:7])
        assert a["idleSince"] is not None and start > dt.date.fromisoformat(a["idleSince"]) and start <= DEAL_MAX
        vc = a["code"][:12]
        if r["counterpartyKey"] is not None:
            assert pk[r["counterpartyKey"]]["kind"] in ("ENTERPRISE", "COOPERATIVE", "COLLECTIVE")
        else:
            assert r["mode"] == "TRANSFER"
        if a["status"] == "RELINQUISHED":
            assert r["mode"] == "PAID_RELINQUISHMENT" and r["counterpartyKey"] == collective_of[vc]
            assert isinstance(r["compensationFen"], int) and r["compensationFen"] > 0
            assert a["ownerWillingness"] == "RELINQUISH"
        else:
            assert a["status"] == "REVITALIZED" and r["mode"] != "PAID_RELINQUISHMENT"
            assert r["compensationFen"] is None
        if r["termMonths"] is None:
            assert r["mode"] in ("TRANSFER", "PAID_RELINQUISHMENT")
        else:
            assert 12 <= r["termMonths"] <= 240
        if r["annualRentFen"] is not None:
            assert isinstance(r["annualRentFen"], int) and 300000 <= r["annualRentFen"] <= 3000000
        for f in ("investmentFen", "jobsCreated"):
            assert r[f] is None or (isinstance(r[f], int) and r[f] >= 0)
        if r["revenueSplit"] is not None:
            sp = r["revenueSplit"]
            assert set(sp) == {"collective", "operator", "farmer"}
            decs = [Decimal(str(x)) for x in sp.values()]
            assert all(d >= 0 and d == d.quantize(Decimal("0.01")) for d in decs)
            assert sum(decs) == Decimal(1), sp
    need = {a["code"] for a in assets if a["status"] in ("REVITALIZED", "RELINQUISHED")}
    assert set(dealt) == need, "exactly one revitalization per REVITALIZED/RELINQUISHED asset"

    # --- demo sites
    assert len(sites) == 6
    names = [s["name"] for s in sites]
    assert "东川白家七星山庄" in names and "刘家苏山水果莲基地" in names
    site_villages = set()
    for s in sites:
        assert re.fullmatch(r"DS-\d{3}", s["code"]) and s["level"] in LEVELS
        p = (s["lon"], s["lat"])
        vin = [c for c, v in vils.items() if point_in_ring(p, v["ring"])]
        assert len(vin) == 1
        vc = vin[0]
        site_villages.add(vc)
        assert s["operatorKey"] is None or s["operatorKey"] in pk
        assert 3 <= len(s["assetCodes"]) <= 8
        for c in s["assetCodes"]:
            assert ak[c]["status"] == "REVITALIZED" and c[:12] == vc, (s["code"], c)
        years = sorted({i["year"] for i in s["indicators"]})
        assert 3 <= len(years) <= 4 and years == list(range(years[0], years[-1] + 1))
        assert years[0] >= 2021 and years[-1] <= 2024
        seen = set()
        for y in years:
            codes = [i["code"] for i in s["indicators"] if i["year"] == y]
            assert 5 <= len(codes) <= 9
        for i in s["indicators"]:
            assert i["code"] in INDICATOR_CODES and (i["year"], i["code"]) not in seen
            seen.add((i["year"], i["code"]))
            assert isinstance(i["value"], int) and i["value"] > 0 and i["source"]
        for code in {i["code"] for i in s["indicators"]}:
            vals = [i["value"] for i in sorted(s["indicators"], key=lambda x: x["year"]) if i["code"] == code]
            assert vals == sorted(vals), (s["code"], code)
        n_rev = [i["value"] for i in s["indicators"] if i["code"] == "IDLE_HOUSES_REVITALIZED"]
        if n_rev:
            assert n_rev[-1] <= len(s["assetCodes"])
    bj_site = next(s for s in sites if s["name"] == "东川白家七星山庄")
    lj_site = next(s for s in sites if s["name"] == "刘家苏山水果莲基地")
    assert vils[bj_site["assetCodes"][0][:12]]["name"] == "白家村"
    assert tws[vils[bj_site["assetCodes"][0][:12]]["tw"]]["name"] == "东川镇"
    assert vils[lj_site["assetCodes"][0][:12]]["name"] == "刘家村"
    assert tws[vils[lj_site["assetCodes"][0][:12]]["tw"]]["name"] == "苏山乡"
    # one collective per village with revitalizations or demo sites, and no others
    want = {c[:12] for c in dealt} | site_villages
    assert set(collective_of) == want

    # --- summary
    total = sum(os.path.getsize(os.path.join(OUT_DIR, n)) for n in (
        "townships.geojson", "villages.geojson", "parties.csv", "assets.geojson",
        "revitalizations.csv", "demo_sites.json"))
    assert total < 1_000_000, total
    kinds = {}
    for p in parties:
        kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
    st = {}
    for a in assets:
        st[a["status"]] = st.get(a["status"], 0) + 1
    print(f"townships {len(tws)}, villages {len(vils)}, parties {len(parties)} {kinds}, "
          f"assets {len(assets)}, revitalizations {len(revs)}, demo sites {len(sites)}, {total} bytes")
    print("asset status:", dict(sorted(st.items())))
    for tc, t in tws.items():
        print(f"  {tc} {t['name']} {len(t['villages'])} villages")
    print("validation OK")


if __name__ == "__main__":
    main()
    validate()
