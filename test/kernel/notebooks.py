"""Executes notebooks with nbclient through an installed kernel (ORZ_KERNEL_NAME) and reports what they showed.

Usage: notebooks.py NOTEBOOK.ipynb...
With ORZ_NOTEBOOK_TEST=1, a notebook whose metadata holds `orz.test_parameters` (source code) gets that code as a
new cell right after its cell tagged `parameters` (papermill's convention), so the test can run a long experiment at
a smaller size while the committed notebook keeps the full one.
Prints one JSON line per notebook: {"notebook", "seconds", "errors": [...], "cells": [{"index", "outputs": [
{"type", "mimes", "text"/"plain" (the start of a stream or a text/plain rendering), and for plotly figures
"plotly_traces", for data-resource tables "table_fields" and "table_rows"}]}]}. Notebooks run in their own directory;
the files themselves are not modified.
"""
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient


def scalar(v):
    return v[:80] if isinstance(v, str) else v if isinstance(v, (int, float, bool)) or v is None else str(v)[:80]


def figure_and_table(data):
    """The trace names of a plotly figure, the fields and first rows of a data-resource table (for key-figure checks)."""
    out = {}
    fig = data.get("application/vnd.plotly.v1+json")
    if isinstance(fig, dict):
        out["plotly_traces"] = [t.get("name") for t in fig.get("data", [])]
    table = data.get("application/vnd.dataresource+json")
    if isinstance(table, dict):
        out["table_fields"] = [f.get("name") for f in table.get("schema", {}).get("fields", [])]
        out["table_rows"] = [{k: scalar(v) for k, v in row.items()} for row in table.get("data", [])[:40]]
    return out


def summarize(nb):
    errors, cells = [], []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outs = []
        for o in cell.get("outputs", []):
            if o.output_type == "error":
                errors.append({"cell": i, "ename": o.ename, "evalue": o.evalue, "traceback": o.traceback[-8:]})
            entry = {"type": o.output_type, "mimes": sorted(o.get("data", {}).keys())}
            if o.output_type == "stream":
                entry["name"] = o.name
                entry["text"] = o.text[-2000:]
            if "text/html" in o.get("data", {}):
                entry["html_has_table"] = "<table" in o.data["text/html"]
            if "text/plain" in o.get("data", {}):
                entry["plain"] = o.data["text/plain"][:4000]  # what a table or figure says, for key-figure checks
            entry.update(figure_and_table(o.get("data", {})))
            outs.append(entry)
        cells.append({"index": i, "outputs": outs})
    return errors, cells


def inject_test_parameters(nb, path):
    source = nb.metadata.get("orz", {}).get("test_parameters")
    if not source or os.environ.get("ORZ_NOTEBOOK_TEST") != "1":
        return
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise SystemExit(f"{path}: metadata.orz.test_parameters is set but no cell is tagged 'parameters'")
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(tagged[0] + 1, cell)


def main(paths):
    kernel = os.environ.get("ORZ_KERNEL_NAME", "orz")
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        inject_test_parameters(nb, path)
        client = NotebookClient(nb, kernel_name=kernel, timeout=600, allow_errors=True,
                                resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
        t0 = time.time()
        setup_error = None
        try:
            client.execute()
        except Exception as e:  # a dead kernel or a timeout: report it like a cell error
            setup_error = f"{type(e).__name__}: {e}"
        errors, cells = summarize(nb)
        if setup_error:
            errors.append({"cell": None, "ename": "NotebookClientError", "evalue": setup_error[-3000:], "traceback": []})
        print(json.dumps({"notebook": os.path.basename(path), "seconds": round(time.time() - t0, 1), "errors": errors, "cells": cells}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
