"""Synthetic partner files for K towns (issue 9): ``generate_cities(k, out, seed)``.

Modules: ``population`` (people, households, births, deaths and moves), ``sources``
(one builder and writer per partner export), ``xlsx`` (a fast deterministic xlsx
writer), ``truth`` (the indicators from the generator's own records), ``cities`` (the
entry point), ``nights`` (files of a later night: one town's register sent again).
See ``generate_cities`` for the contract.
"""

from .cities import CitySummary, GenerateSummary, generate_cities, summary_dict
from .nights import latest_register, resend_register

__all__ = [
    "CitySummary",
    "GenerateSummary",
    "generate_cities",
    "latest_register",
    "resend_register",
    "summary_dict",
]
