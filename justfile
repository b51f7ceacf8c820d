# ibert recipes. Every datagen recipe is a thin wrapper over `ibert datagen <step>`, so the same
# work runs without `just` too (e.g. `.venv/bin/ibert datagen all`).

ibert := ".venv/bin/ibert"
python := ".venv/bin/python"
out := "data/generated"
# the Ibis documentation corpus, mined in place when present (never copied into the repo)
ibis_docs := justfile_directory() / ".." / "shared" / "corpora" / "ibis-docs"
docs_source := if path_exists(ibis_docs) == "true" { "--source " + ibis_docs } else { "" }

default:
    @just --list

# templates -> SQL/Ibis pairs, each validated by executing both sides
generate-data *ARGS:
    {{ibert}} datagen generate-data --out {{out}} {{ARGS}}

# meaning-preserving variations (dialects, spellings, `_` vs t.col) and compositions, validated
generate-augmented *ARGS:
    {{ibert}} datagen generate-augmented --out {{out}} {{ARGS}}

# records of all six tasks from the validated pairs, every record checked by the gate
generate-multitask *ARGS:
    {{ibert}} datagen generate-multitask --out {{out}} {{ARGS}}

# re-check every record of the split files with the gate; fails on any bad record
validate-multitask *ARGS:
    {{ibert}} datagen validate-multitask --out {{out}} {{ARGS}}

# mine the installed Ibis package (docstrings, tests) and the docs corpus for all tasks
mine-multitask *ARGS:
    {{ibert}} datagen mine-multitask --out {{out}} {{docs_source}} {{ARGS}}

# mine one task, e.g. `just mine-task documentation`
mine-task TASK *ARGS:
    {{ibert}} datagen mine-task {{TASK}} --out {{out}} {{docs_source}} {{ARGS}}

# merge all sources, dedupe, decontaminate (TPC-H/DS), split train/valid/test/test_family
concatenate-data *ARGS:
    {{ibert}} datagen concatenate-data --out {{out}} {{ARGS}}

# counts per split, task, source, feature, difficulty
dataset-stats *ARGS:
    {{ibert}} datagen stats --out {{out}} {{ARGS}}

# the whole pipeline (resumable), then validation; prints stats and wall time
generate-all *ARGS:
    {{ibert}} datagen all --out {{out}} {{docs_source}} {{ARGS}}

# refresh the small committed sample in data/sample/ from the generated splits
sample-data N="200":
    {{ibert}} datagen sample --out {{out}} -n {{N}}

# validated examples per second (prints a table, writes bench/results/datagen.json)
bench-datagen *ARGS:
    {{python}} bench/datagen.py {{ARGS}}

test *ARGS:
    {{python}} -m pytest -q {{ARGS}}

test-datagen:
    {{python}} -m pytest -q tests/test_datagen_*.py
