"""The study report: one self-contained HTML page with every paper number beside ours.

:func:`build_report` reads the stage outputs (dataset card, model card, association,
discrimination, supervised classifiers, runtime, the synthetic calibration when the study is
synthetic) and renders ``results/report/index.html`` with Jinja2
(``seisembed/report/templates/index.html.j2``). Every number on the page comes from those
files or from :mod:`seisembed.paper` (the paper's numbers, cited and marked as the
paper's); the sentences under the headline tables that say whether ours is above or below
the paper, the association baselines and the supervised classifiers are computed
(:func:`compare`). Figures are embedded as ``data:`` URIs: the page makes no network
request and opens from disk.

Every input is checked first against its contract (:mod:`seisembed.report.schemas`: a
JSON schema per JSON input, required columns per CSV table, with ranges): a bad input is an
:class:`~seisembed.errors.InputError` naming the file, the key and the value. An undefined
metric (``null``) is shown as "n/a" with its reason and never compared.

Headline numbers carry a ``data-metric`` attribute naming where they come from
(``association.embedding.test.auc``), so a browser test can check the page against the
metrics files.
"""

from __future__ import annotations

from seisembed.report.build import INPUTS, build_report, compare

__all__ = ["INPUTS", "build_report", "compare"]
