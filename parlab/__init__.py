"""parlab: the helper package of the parlab lessons on parallel computing in Python.

Data flows one way: workloads -> run -> measure -> results -> plot / widgets -> notebook.
Import the submodules directly (``from parlab.measure import speedup_sweep``); importing
parlab itself is cheap and changes no global state (no plot style, no seeds).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
