"""Small dataset files in each supported format, written by the tests (no downloads)."""

from __future__ import annotations

from pathlib import Path

ULB_HEADER = "Time," + ",".join(f"V{i}" for i in range(1, 29)) + ",Amount,Class"
SPARKOV_HEADER = (
    ",trans_date_trans_time,cc_num,merchant,category,amt,first,last,gender,street,city,state,zip,"
    "lat,long,city_pop,job,dob,trans_num,unix_time,merch_lat,merch_long,is_fraud"
)


def ulb_row(t: float, amount: str, label: str, v: float = 0.5) -> str:
    return ",".join([str(t), *(f"{v + j / 100:.4f}" for j in range(28)), amount, label])


def write_ulb(path: Path, good: int = 8) -> Path:
    """``good`` valid rows, then one short line, one bad amount, one bad label (3 bad)."""
    rows = [ULB_HEADER] + [ulb_row(i * 7.5, f"{1.25 + i:.2f}", str(i % 2)) for i in range(good)]
    rows += ["1,2,3", ulb_row(99, "abc", "0"), ulb_row(100, "5.00", "maybe")]
    path.write_text("\n".join(rows) + "\n")
    return path


def sparkov_row(i: int, when: str, category: str, amt: str, fraud: str = "0") -> str:
    return (
        f'{i},{when},{4000_0000_0000_0000 + i % 3},"fraud_Shop {i}, Inc",{category},{amt},Jane,Doe,F,'
        f'1 Main St,Springfield,IL,62701,39.78,-89.65,116000,"Engineer, civil",1980-01-01,'
        f"tn{i:05d},1325376018,39.9,-89.1,{fraud}"
    )


def write_sparkov(path: Path) -> Path:
    """6 valid rows then 2 bad ones (amount text, impossible date)."""
    cats = ["grocery_pos", "shopping_net", "gas_transport", "misc_net", "food_dining", "kids_pets"]
    rows = [SPARKOV_HEADER] + [
        sparkov_row(i, f"2019-01-01 00:{i:02d}:18", c, f"{10 + i}.5", str(i % 2)) for i, c in enumerate(cats)
    ]
    rows += [
        sparkov_row(6, "2019-01-01 01:00:00", "travel", "lots"),
        sparkov_row(7, "2019-13-45 01:00:00", "travel", "3"),
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def write_table(path: Path) -> Path:
    """A custom CSV: 5 valid rows, one without a card, one negative amount."""
    rows = ["id,card,ts,value,shop,fraud,score"]
    rows += [f"t{i},c{i % 2},2024-05-01T10:0{i}:00Z,{3 * i + 1}.25,m{i},{int(i == 3)},{i / 10}" for i in range(5)]
    rows += ["t5,,2024-05-01T11:00:00Z,3,m5,0,0.1", "t6,c1,2024-05-01T11:01:00Z,-4,m6,0,0.2"]
    path.write_text("\n".join(rows) + "\n")
    return path
