"""Stage 3, share what was published: partner ``extracts`` under their agreements and the
public ``report``; ``folders`` replaces an output folder whole."""
