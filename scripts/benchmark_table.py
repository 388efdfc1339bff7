#!/usr/bin/env python3
"""Markdown table of bench_npe CSVs beside sbi's published C2ST (docs/BENCHMARKS.md).

usage: scripts/benchmark_table.py [--budget N] FILE.csv ...

One row per (method, task, estimator) over the observations found in the CSVs (a later file's
run of the same observation replaces an earlier one); NLE's "auto:maf"/"auto:nsf" runs share one
"auto" row that names the flow kept for each observation. Compares with sbibm's published mean over
its 10 observations and over observations 1-5 (main paper; gaussian_mixture from its rerun, as
sbibm recommends). Bold: our mean at or below sbi's 10-observation mean.
"""
import argparse
import collections
import csv
import os

HERE = os.path.dirname(os.path.abspath(__file__))
PUBLISHED = os.path.join(HERE, "..", "..", "shared", "data", "sbibm", "published_results.csv")
# Our method -> sbibm's algorithm name (sbibm's NRE and SNRE are contrastive, as NRE-C).
ALGORITHM = {"npe": "NPE", "snpe": "SNPE", "nle": "NLE", "snle": "SNLE", "nre": "NRE",
             "nre-b": "NRE", "nre-c": "NRE", "snre": "SNRE", "snre-b": "SNRE", "snre-c": "SNRE", "rej-abc": "REJ-ABC",
             "smc-abc": "SMC-ABC"}
LABEL = {"npe": "NPE", "snpe": "SNPE", "nle": "NLE", "snle": "SNLE", "nre": "NRE-A",
         "nre-b": "NRE-B", "nre-c": "NRE-C", "snre": "SNRE-A", "snre-b": "SNRE-B", "snre-c": "SNRE-C", "rej-abc": "REJ-ABC",
         "smc-abc": "SMC-ABC"}


def published(budget):
    table = {}
    for r in csv.DictReader(open(PUBLISHED)):
        if int(r["num_simulations"]) != budget:
            continue
        wanted = "gaussian_mixture_rerun" if r["task"] == "gaussian_mixture" else "main_paper"
        if r["source"] != wanted:
            continue
        first5 = [float(r["c2st_obs%d" % i]) for i in range(1, 6)]
        table[(r["task"], r["algorithm"])] = (float(r["c2st_mean"]), first5)
    return table


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=int, default=10000)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    sbi = published(args.budget)
    runs = collections.defaultdict(dict)
    chosen = collections.defaultdict(dict)
    for f in args.files:
        reader = csv.DictReader(open(f))
        if "c2st" not in (reader.fieldnames or []):
            continue  # not a bench_npe CSV
        for r in reader:
            if int(r["simulations"]) != args.budget:
                continue
            # "auto:maf" (NLE's automatic choice) joins the other "auto" runs of the task; the
            # estimator cell then lists the flow kept per observation.
            estimator, _, kept = r["estimator"].partition(":")
            key = (r["method"], r["task"], estimator)
            runs[key][int(r["observation"])] = float(r["c2st"])
            if kept:
                chosen[key][int(r["observation"])] = kept
    order = list(LABEL)
    print("| method | task | estimator | C2ST per observation | mean (ours) "
          "| sbi obs 1–5 | sbi mean obs 1–5 | sbi mean (10 obs) |")
    print("|---|---|---|---|---:|---|---:|---:|")
    for key in sorted(runs, key=lambda k: (order.index(k[0]), k[1], k[2])):
        method, task, estimator = key
        observations = runs[key]
        values = [observations[k] for k in sorted(observations)]
        mean = sum(values) / len(values)
        ref = sbi.get((task, ALGORITHM[method]))
        text = "%.3f" % mean
        if ref and mean <= ref[0]:
            text = "**%s**" % text
        if chosen[key]:
            estimator += " (%s)" % " ".join(chosen[key].get(k, "?") for k in sorted(observations))
        if len(values) < 5:
            text = "(%s, obs %s)" % (text, ",".join(str(k) for k in sorted(observations)))
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            LABEL[method], task, estimator, " ".join("%.3f" % v for v in values), text,
            " ".join("%.3f" % v for v in ref[1]) if ref else "–",
            "%.3f" % (sum(ref[1]) / 5) if ref else "–", "%.3f" % ref[0] if ref else "–"))


if __name__ == "__main__":
    main()
