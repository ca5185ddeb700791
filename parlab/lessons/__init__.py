"""The lessons' floor: one package per lesson number, the checker and the shared speedup sentences.

``l00`` … ``l07`` belong to ``notebooks/NN-*.ipynb`` (01a and 01b share ``l01``, 05a and 05b
``l05``, 06a, 06b and 06c ``l06``); each uses the same role names where it has the role
(``exercises.py``, ``words.py``, ``measure.py``; see parlab/README.md). ``check`` is the
exercise checker every lesson builds on, ``words`` the speedup sentences all lessons share.

This floor sits above the whole library: a lesson module may import any core module of
parlab, ``check`` and ``words``, but never another lesson's package; nothing outside
``parlab.lessons`` imports a lesson module, except the bench (``parlab.benches``). Import a
lesson module by name (``from parlab.lessons.l01 import gil``); importing this package, or a
lesson's package, imports none of them.
"""
