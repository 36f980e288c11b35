"""Test helpers shipped with the package (used by the test suite and the benchmarks).

:mod:`seisembed.testing.archive` builds small, real SDS archives + StationXML;
:mod:`seisembed.testing.fdsn_server` serves them as a local FDSN web service with
switchable fault injection. Nothing here touches the network beyond 127.0.0.1.
"""
