"""Provenance for any number of sources: the ``sources`` column names every task:annotator of a row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from affcurate.cli import main
from affcurate.io import read_parquet
from affcurate.labels.model import Annotation, write_annotation


@pytest.mark.parametrize("n_annotators", [22, 70])
def test_many_annotators_on_one_video_merge_with_every_name_in_sources(small_ws, capsys, n_annotators: int) -> None:
    """22 annotators (66 task:annotator pairs) once overflowed a 64-bit mask; 70 need more than one word in a
    task alone."""
    n = 60
    rng = np.random.default_rng(0)
    names = [f"rater{i:02d}" for i in range(n_annotators)]
    for i, name in enumerate(names):
        frames = np.arange(i % 7, n)  # each starts a little later: rows differ in who said something
        write_annotation(small_ws, Annotation("clip_a", "au", name, pd.DataFrame(
            {"frame": frames, "AU12": rng.integers(0, 2, len(frames))})))
        write_annotation(small_ws, Annotation("clip_a", "expr", name, pd.DataFrame(
            {"frame": frames, "expr": rng.integers(0, 8, len(frames))})))
        if i < 22:
            write_annotation(small_ws, Annotation("clip_a", "va", name, pd.DataFrame(
                {"frame": frames, "valence": rng.uniform(-1, 1, len(frames)),
                 "arousal": rng.uniform(-1, 1, len(frames))})))
    main(["merge", str(small_ws.root), "--keep-no-face", "--jobs", "1"])  # returns: exit code 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "Overflow" not in out.err + out.out
    lab = read_parquet(small_ws.labels_path)
    a = lab[lab["video_id"] == "clip_a"].set_index("frame")
    last = a.loc[n - 1, "sources"].split("+")  # everyone said something on the last frame
    assert last == ([f"au:{x}" for x in names] + [f"expr:{x}" for x in names] + [f"va:{x}" for x in names[:22]])
    first = a.loc[0, "sources"].split("+")  # frame 0: only those that start there
    starters = [x for i, x in enumerate(names) if i % 7 == 0]
    assert first == [f"au:{x}" for x in starters] + [f"expr:{x}" for x in starters] + \
        [f"va:{x}" for x in starters if names.index(x) < 22]
    assert (a["au_n"] == [sum(1 for i in range(n_annotators) if i % 7 <= f) for f in range(n)]).all()
