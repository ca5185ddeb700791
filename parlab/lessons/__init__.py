"""One module per lesson notebook: its helpers, panels, exercise checkers and conclusion writers.

``l01_gil`` belongs to ``notebooks/01a-the-gil.ipynb``, ``l04_children`` to
``notebooks/04-parent-and-child-scripts.ipynb``, and so on; lesson 06 has three
(``l06_backends``: one workload on every backend, ``l06_reference``: reference sets and
their command, ``l06_strategy``: the laws panel and the decision guide).

This floor sits above the whole library: a lesson module may import any core module of
parlab, but nothing outside ``parlab.lessons`` imports a lesson module, except the bench
(``parlab.benches``), which measures each lesson's headline figure. Import a lesson
module by name (``from parlab.lessons import l01_gil``); importing this package imports
none of them.
"""
