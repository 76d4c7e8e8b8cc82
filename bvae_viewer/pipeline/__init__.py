"""The one way a case travels: load -> preprocess -> cached, streaming run -> triage ->
report data. `analyze`, the window's worker and the batch's worker all go through here.

Below gui and cli, above nn: the window reaches the network only through this package.
"""
