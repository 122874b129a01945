#!/usr/bin/env python3
"""How far could recall on Splink's historical set go, and on what evidence?

Reads the set (Parquet) and the persons `kmcr mpi evaluate --splink-parquet SET --out PERSONS.csv` found, and asks of
each record left out of its true person's largest group: which fields does it share exactly with some record of that
group? It then prints the pairwise precision, recall and F1 if every such record were moved into its true group
whenever it shares the given evidence, and nothing else changed. That is a ceiling, not a method: it uses the truth to
choose the group, so it adds no false link.

    cargo run --release -p kmcr -- mpi evaluate --splink-parquet ../shared/data/linkage/historical_figures_with_errors_50k.parquet \
        --match-queries 0 --out /tmp/persons.csv
    python3 scripts/linkage-ceiling.py ../shared/data/linkage/historical_figures_with_errors_50k.parquet /tmp/persons.csv

Needs pandas and pyarrow (`pip install pandas pyarrow`).
"""

import collections
import sys

import pandas as pd

NAMES = {"first_name", "surname"}
FACTS = {"dob", "birth_place", "postcode_fake"}
FIELDS = ["first_name", "surname", "dob", "birth_place", "postcode_fake", "gender"]


def pair_scores(truth, persons):
    """Pairwise precision, recall and F1 of `persons` against `truth`."""
    frame = pd.DataFrame({"truth": truth, "person": persons})
    pairs = lambda sizes: int((sizes * (sizes - 1) // 2).sum())
    n_links = pairs(frame.groupby("person").size())
    n_true_links = pairs(frame.groupby(["person", "truth"]).size())
    n_true_pairs = pairs(frame.groupby("truth").size())
    precision, recall = n_true_links / n_links, n_true_links / n_true_pairs
    return precision, recall, 2 * precision * recall / (precision + recall)


def main(set_path, persons_path):
    records = pd.read_parquet(set_path)
    records["person"] = pd.read_csv(persons_path)["person"].values
    groups = records.groupby(["cluster", "person"]).size().reset_index(name="n")
    largest = groups.sort_values("n", ascending=False).drop_duplicates("cluster").set_index("cluster")["person"]
    records["largest"] = records["cluster"].map(largest)
    left_out = records[records["person"] != records["largest"]]
    kept = {cluster: group for cluster, group in records[records["person"] == records["largest"]].groupby("cluster")}

    # For each record left out: the sets of fields it shares exactly with each record of its true person's group.
    shared = {}
    for idx, record in left_out.iterrows():
        agreements = []
        for _, other in kept.get(record["cluster"], pd.DataFrame(columns=FIELDS)).iterrows():
            agreements.append({f for f in FIELDS if isinstance(record[f], str) and isinstance(other[f], str)
                               and record[f] == other[f]})
        shared[idx] = agreements

    def kind(agreements):
        if any(a & NAMES and a & FACTS for a in agreements):
            return "a name and a birth date, place or postcode"
        if any(a & NAMES for a in agreements):
            return "a name (and sex), nothing else"
        if any(a & FACTS for a in agreements):
            return "a birth date, place or postcode, no name"
        return "nothing but sex, or nothing"

    kinds = collections.Counter(kind(agreements) for agreements in shared.values())
    print(f"{len(left_out)} records left out of their true person's largest group, by what they share with a record of it:")
    for name, count in kinds.most_common():
        print(f"  {name}: {count}")

    print("precision, recall, F1 now: %.4f %.4f %.4f" % pair_scores(records["cluster"], records["person"]))
    ceilings = {
        "a name and the birth date or postcode, or both names and the birth place":
            lambda a: (a & NAMES and a & {"dob", "postcode_fake"}) or (NAMES <= a and "birth_place" in a),
        "a name and any of birth date, birth place, postcode": lambda a: a & NAMES and a & FACTS,
        "any two of the names, birth date, birth place, postcode": lambda a: len(a & (NAMES | FACTS)) >= 2,
    }
    for name, rule in ceilings.items():
        persons = records["person"].copy()
        for idx, agreements in shared.items():
            if any(rule(a) for a in agreements):
                persons[idx] = records.at[idx, "largest"]
        print("if linked on %s: %.4f %.4f %.4f" % ((name,) + pair_scores(records["cluster"], persons)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
