"""Worker process of the parallel tag import: ``python -m chaintrail.tags._worker OUT``.

Reads a pickled ``(jobs, options)`` from stdin, parses each ``(path, kind)`` job with
:func:`chaintrail.tags.service.parse_file` and writes the pickled results (ParsedFile or
FileProblem, Arrow tables inside) to ``OUT``. A plain subprocess rather than multiprocessing:
it never re-imports the caller's ``__main__`` and never forks a threaded process.
"""

from __future__ import annotations

import pickle
import sys


def main() -> None:
    from chaintrail.tags.service import parse_file

    jobs, options = pickle.load(sys.stdin.buffer)
    results = [parse_file(path, kind, options) for path, kind in jobs]
    with open(sys.argv[1], "wb") as out:
        pickle.dump(results, out, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main()
