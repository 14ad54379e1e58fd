"""The one schema of ReLU Studio's settings: every default and limit, in one place.

(Grows into the whole schema; see the module's later revisions.)
"""
from __future__ import annotations

#: Seeds are those of numpy's ``RandomState`` and torch's ``manual_seed`` as the notebook uses
#: them: whole numbers in ``[0, SEED_LIMIT)``.
SEED_LIMIT = 2**32
MAX_SEED = SEED_LIMIT - 1
