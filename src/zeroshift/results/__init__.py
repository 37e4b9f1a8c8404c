"""Run records and the results store.

Example:
    >>> from zeroshift.results import RunRecord, Store

"""

from zeroshift.results.schema import SCHEMA_VERSION, RunRecord, SampleOutputs
from zeroshift.results.store import Store

__all__ = ["SCHEMA_VERSION", "RunRecord", "SampleOutputs", "Store"]
