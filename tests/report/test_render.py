"""Tables read as tables: no leftover row numbers, ids read as names (left), numbers right."""

from __future__ import annotations

import pandas as pd

from affcurate.reporting.render import html_table, markdown_table


def test_a_table_without_row_names_shows_none_and_ids_align_as_names() -> None:
    df = pd.DataFrame({"video_id": ["106", "clip_b"], "task": ["va", "au"], "samples": [2, -1]})
    md = markdown_table(df).splitlines()
    assert md[0].split("|")[1].strip() == "video_id"  # the first column is the table's, not row numbers
    assert md[1] == "|:-----------|:-------|----------:|"  # ids and names left, numbers right
    html = html_table(df)
    assert "<th>video_id</th>" in html and "<th></th>" not in html and ">0<" not in html
