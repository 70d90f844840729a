"""Synthetic partner files for K towns (issue 9): ``generate_cities(k, out, seed)``.

Modules: ``population`` (people, households, births, deaths and moves), ``sources``
(one builder and writer per partner export), ``xlsx`` (a fast deterministic xlsx
writer), ``truth`` (the indicators from the generator's own records), ``cities`` (the
entry point). See ``generate_cities`` for the contract.
"""

from .cities import CitySummary, GenerateSummary, generate_cities, summary_dict

__all__ = ["CitySummary", "GenerateSummary", "generate_cities", "summary_dict"]
