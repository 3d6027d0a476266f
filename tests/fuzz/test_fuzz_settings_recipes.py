"""A fuzzed corpus for ``affcurate.toml`` and recipes: the default settings and every recipe in pipelines/,
mutated the ways hand-edited files go wrong (wrong encodings, wrong types, NaN/inf, truncation, huge values,
unknown keys, missing sections, names that are paths), each run through the real command line.

Every input must end in exit 2 with one line on stderr and nothing written (the digest of every file of the
workspace), or in exit 0 with nothing on stderr when the mutant is still valid. Settings go through
``affcurate init WS`` on an existing workspace (it opens and validates them) and ``affcurate run … --dry-run``;
recipes through ``affcurate run RECIPE WS --dry-run`` and, when refused, once more without ``--dry-run`` (the
checks run before anything is written, so it must refuse the same way). The generator is seeded: a failure
names its case; ``AFFCURATE_FUZZ_SEED`` / ``AFFCURATE_FUZZ_SETTINGS`` / ``AFFCURATE_FUZZ_RECIPES`` reproduce or
widen it. Inputs per run with the defaults: 300 settings files and 300 recipes.
"""

from __future__ import annotations

import copy
import datetime
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w
import tomllib

from affcurate.settings import Settings, settings_toml

SEED = int(os.environ.get("AFFCURATE_FUZZ_SEED", "2026"))
N_SETTINGS = int(os.environ.get("AFFCURATE_FUZZ_SETTINGS", "300"))
N_RECIPES = int(os.environ.get("AFFCURATE_FUZZ_RECIPES", "300"))
PIPELINES = Path(__file__).parents[2] / "pipelines"

ODD_VALUES: list[Any] = ["text", "", 0, -1, 3, 2.5, True, False, [], [1, "a"], ["AU1"], {"x": 1}, {},
                         datetime.date(2020, 1, 1), datetime.time(12, 0)]
HUGE_VALUES: list[Any] = [10**18, -(10**18), 2**63 - 1, 1e308, -1e308, 5e-324, "x" * 20_000, list(range(5000)),
                          ["AU1"] * 500]
NON_FINITE = [float("nan"), float("inf"), float("-inf")]
HOSTILE_NAMES = ["../x", "/etc", "a/b", "x\n", "", " ", ".", "..", "ü", "a" * 300, "${UNSET_FUZZ_VAR}", "C:\\x",
                 "-x", "x\x00y", "alice bob", "[bold]x[/]", "^[a-z]*$"]
NAME_KEYS = {"name", "annotator", "format", "task", "list", "videos", "subject_from"}


# ---- mutations of the parsed document --------------------------------------------------------------------

def _leaves(doc: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every value (tables and arrays included, so that whole sections can be replaced)."""
    out = [where] if where else []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        out += _leaves(v, (*where, k))
    return out


def _set(doc: Any, where: tuple[Any, ...], value: Any) -> None:
    for k in where[:-1]:
        doc = doc[k]
    doc[where[-1]] = value


def _get(doc: Any, where: tuple[Any, ...]) -> Any:
    for k in where:
        doc = doc[k]
    return doc


def _tables(doc: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return [w for w in [(), *_leaves(doc)] if isinstance(_get(doc, w), dict)]


def wrong_type(rng: random.Random, doc: dict) -> None:
    _set(doc, rng.choice(_leaves(doc)), copy.deepcopy(rng.choice(ODD_VALUES)))


def non_finite(rng: random.Random, doc: dict) -> None:
    numbers = [w for w in _leaves(doc) if isinstance(_get(doc, w), (int, float)) and not isinstance(_get(doc, w), bool)]
    _set(doc, rng.choice(numbers or _leaves(doc)), rng.choice(NON_FINITE))


def huge(rng: random.Random, doc: dict) -> None:
    _set(doc, rng.choice(_leaves(doc)), copy.deepcopy(rng.choice(HUGE_VALUES)))


def unknown_key(rng: random.Random, doc: dict) -> None:
    table = _get(doc, rng.choice(_tables(doc)))
    table[rng.choice(["bogus", "fsp", "Fps", "ingest", "recipe", "sources", "x y", "ü"])] = rng.choice(ODD_VALUES)


def missing(rng: random.Random, doc: dict) -> None:
    where = rng.choice(_leaves(doc))
    parent = _get(doc, where[:-1])
    if isinstance(parent, dict):
        del parent[where[-1]]
    else:
        parent.pop(where[-1])


def empty_list(rng: random.Random, doc: dict) -> None:
    lists = [w for w in _leaves(doc) if isinstance(_get(doc, w), list)]
    _set(doc, rng.choice(lists or _leaves(doc)), [])


def hostile_name(rng: random.Random, doc: dict) -> None:
    names = [w for w in _leaves(doc) if w and w[-1] in NAME_KEYS or (len(w) > 1 and w[-2] == "paths")]
    _set(doc, rng.choice(names or _leaves(doc)), rng.choice(HOSTILE_NAMES))


DOC_MUTATIONS: list[Callable[[random.Random, dict], None]] = [
    wrong_type, non_finite, huge, unknown_key, missing, empty_list, hostile_name]


# ---- mutations of the bytes ------------------------------------------------------------------------------

def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def latin1(rng: random.Random, data: bytes) -> bytes:
    text = data.decode("utf-8")
    at = rng.randrange(len(text) + 1)
    return (text[:at] + rng.choice(["é", "ü", "£", "ß"]) + text[at:]).encode("latin-1", "replace")


def utf16(rng: random.Random, data: bytes) -> bytes:
    return data.decode("utf-8").encode(rng.choice(["utf-16", "utf-16-le", "utf-32"]))


def random_bytes(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 4))) + data[at:]


def punctuation(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice([b"[", b"]", b"{", b"}", b"=", b'"', b"'", b",", b"\n", b"\x00", b"[[x]]\n",
                                   b"\r", b"\\"]) + data[at + 1:]


def lines(rng: random.Random, data: bytes) -> bytes:
    rows = data.split(b"\n")
    i = rng.randrange(len(rows))
    if rng.random() < 0.5:
        rows.insert(i, rows[i])  # a repeated key or table
    else:
        rows.pop(i)
    return b"\n".join(rows)


BYTE_MUTATIONS: list[Callable[[random.Random, bytes], bytes]] = [
    truncate, latin1, utf16, random_bytes, punctuation, lines]


def mutate(rng: random.Random, text: str) -> bytes:
    """One to three mutations of the parsed document, or of the bytes, or both."""
    doc = tomllib.loads(text)
    kind = rng.random()
    if kind < 0.7:
        for _ in range(rng.randint(1, 3)):
            # an emptied document only takes new keys
            (rng.choice(DOC_MUTATIONS) if _leaves(doc) else unknown_key)(rng, doc)
        try:
            data = tomli_w.dumps(doc).encode()
        except (TypeError, ValueError):  # a value TOML cannot hold: mutate the text instead
            data = text.encode()
    else:
        data = text.encode()
    if kind > 0.5 or data == text.encode():
        data = rng.choice(BYTE_MUTATIONS)(rng, data)
    return data


# ---- checking one input --------------------------------------------------------------------------------

def check(run: Any, case: str, data: bytes, refused_ok: bool = True) -> str | None:
    """Why this outcome breaks the rules (None if it keeps them)."""
    if run.crash is not None:
        return f"{case}: {type(run.crash).__name__}: {run.crash} escaped (a traceback) for {data[:300]!r}"
    if run.warnings:
        return f"{case}: warnings {run.warnings} for {data[:300]!r}"
    if run.code == 0:
        return None if run.err == "" else f"{case}: exit 0 with stderr {run.err!r}"
    if run.code != 2 or not refused_ok:
        return f"{case}: exit {run.code} ({run.err[:300]!r}) for {data[:300]!r}"
    if run.err.count("\n") != 1 or not run.err.startswith("error: ") or "Traceback" in run.err:
        return f"{case}: stderr is not one error line: {run.err[:500]!r} for {data[:300]!r}"
    return None


def test_fuzzed_settings_files(fuzz_ws, digest, run_cli, tmp_path: Path) -> None:
    bases = [settings_toml(Settings())]
    for p in sorted(PIPELINES.glob("*.toml")):  # each recipe's settings as an affcurate.toml
        bases.append(tomli_w.dumps(tomllib.loads(p.read_text()).get("settings", {})) or "[ingest]\nfps = 25\n")
    recipe = tmp_path / "plain.toml"
    recipe.write_text('[recipe]\nname = "plain"\n[report]\n')
    rng = random.Random(SEED)
    failures, refused = [], 0
    for i in range(N_SETTINGS):
        data = mutate(rng, rng.choice(bases))
        fuzz_ws.settings_path.write_bytes(data)
        before = digest(fuzz_ws.root)
        argv = ["init", fuzz_ws.root] if i % 2 == 0 else ["run", recipe, fuzz_ws.root, "--dry-run"]
        run = run_cli(*argv)
        refused += run.code == 2
        problem = check(run, f"settings case {i} (seed {SEED}, {argv[0]})", data)
        if problem is None and digest(fuzz_ws.root) != before:
            problem = f"settings case {i}: the workspace changed for {data[:300]!r}"
        if problem:
            failures.append(problem)
    print(f"fuzzed settings: {N_SETTINGS} inputs, {refused} refused, {N_SETTINGS - refused} still valid")
    assert not failures, "\n".join(failures[:5])
    assert 0 < refused < N_SETTINGS  # the corpus holds both valid and invalid files


def _recipe_vars(folder: Path) -> list[str]:
    """--var for every ${NAME} of the bundled recipes, pointing at the demo data (some formats find no files:
    those recipes are refused, which is an outcome like any other)."""
    demo = folder / "demo"
    values = {"AFFWILD_LIST": demo / "videos.csv", "AFEWVA_LIST": demo / "videos.csv", "IMAGES": demo / "videos.csv",
              "A1": demo / "labels", "A2": demo / "labels", "A3": demo / "labels", "AU": demo / "labels" / "au",
              "VA": demo / "labels" / "va", "AFEWVA": demo / "labels", "AFFECTNET": demo / "labels",
              "CLIPS": demo}
    return [a for k, v in values.items() for a in ("--var", f"{k}={v}")]


def test_fuzzed_recipes(fuzz_ws, digest, run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "pipelines"
    shutil.copytree(PIPELINES, folder)  # relative paths (demo/labels, demo/videos.csv) resolve as in pipelines/
    bases = [p.read_text() for p in sorted(PIPELINES.glob("*.toml"))]
    variables = _recipe_vars(folder)
    recipe = folder / "fuzzed.toml"
    rng = random.Random(SEED + 1)
    failures, refused = [], 0
    for i in range(N_RECIPES):
        data = mutate(rng, rng.choice(bases))
        recipe.write_bytes(data)
        before = digest(fuzz_ws.root)
        run = run_cli("run", recipe, fuzz_ws.root, "--dry-run", *variables)
        problem = check(run, f"recipe case {i} (seed {SEED + 1})", data)
        if problem is None and run.code == 2:
            refused += 1
            again = run_cli("run", recipe, fuzz_ws.root, *variables)
            problem = check(again, f"recipe case {i} (seed {SEED + 1}, without --dry-run)", data)
            if problem is None and again.err != run.err:
                problem = f"recipe case {i}: the run says {again.err!r}, the dry run {run.err!r}"
        if problem is None and digest(fuzz_ws.root) != before:
            problem = f"recipe case {i}: the workspace changed for {data[:300]!r}"
        if problem:
            failures.append(problem)
    print(f"fuzzed recipes: {N_RECIPES} inputs, {refused} refused, {N_RECIPES - refused} still valid")
    assert not failures, "\n".join(failures[:5])
    assert 0 < refused < N_RECIPES
