"""Real programs that parlab launches as modules: ``python -m parlab.scripts.NAME ARGS``.

Each has a usage line (``--help``), a ``__main__`` guard, and prints its result as JSON on
stdout, so that the parent never parses free text (lessons 04, 05).

- ``hello``: echoes its arguments; can sleep, fail, kill itself or start a grandchild (lesson 04).
- ``wordcount``: counts the words of text files (lesson 04).
- ``worker``: claims tasks from a coordination server and posts results (lesson 04).
- ``mpi_*``: MPI programs launched with ``mpiexec`` (lesson 05).
"""
