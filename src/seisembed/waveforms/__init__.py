"""Waveform stage: P windows per partition, with a QC ledger (``seisembed waveforms``).

Sources (config ``waveforms.source``): ``fdsn`` (EarthScope by default, any FDSN
base URL; :mod:`seisembed.waveforms.fdsn`) and ``sds`` (a local SDS miniSEED
archive plus StationXML; :mod:`seisembed.waveforms.sds`). The processing
(:mod:`seisembed.waveforms.processing`) is the same for both.

Input: ``results/catalog/arrivals.parquet`` with exactly
:data:`seisembed.columns.ARRIVAL_COLUMNS`. A partition is the set of rows whose
``source_origin_time`` month (:func:`seisembed.partitions.partition_of`) equals
the partition name ``YYYY-MM``.

Output contract, per partition:

- ``results/waveforms/{partition}/windows.npy`` — float32 array (n_ok, 3, 7200):
  channel order Z, N, E, 40 Hz, 30 s before to 150 s after the P arrival
  (sample 1200 = the catalogued P arrival), written with
  ``numpy.lib.format.open_memmap`` as windows are made (memory flat),
  row i <-> row i of windows.parquet.
- ``results/waveforms/{partition}/windows.parquet`` — one row per ok window: all
  ARRIVAL_COLUMNS + ``trace_name`` (``seisembed.columns.trace_name(source_id, net,
  sta, loc)``), ``trace_p_arrival_sample`` (int, 1200), ``trace_sampling_rate_hz``
  (40.0), ``trace_start_time`` (UTC), ``trace_channels`` (e.g. "BHZ,BH1,BH2" the
  source channels used), ``trace_location_code`` (the location code of the data
  used), ``trace_snr_db`` (vertical, power 0-10 s after P over -25 to -5 s, dB;
  NaN when undefined).
- ``results/waveforms/{partition}/qc.parquet`` — one row per requested arrival
  (the ledger): ``source_id``, ``station_network_code``, ``station_code``,
  ``station_location_code``, ``trace_name``, ``trace_p_arrival_time``,
  ``qc_status`` (one of ``seisembed.columns.QC_STATUSES``), ``qc_reason`` (text),
  ``qc_attempts`` (int: data requests that included this arrival),
  ``qc_location_code``, ``qc_channels``, ``qc_window_index`` (row in windows.npy,
  -1 when not ok), ``qc_partition``.
- ``results/waveforms/summary.json`` — counts per status over all partitions,
  per partition, provenance.

The sizes 3 x 7200 follow from config (``sampling_rate_hz`` x (``window_before_s``
+ ``window_after_s``)); the defaults give the numbers above. All files are
written atomically (temporary name + :func:`os.replace`); an interrupted
partition resumes from its ``.progress/`` journal (committed chunks are not
fetched again) and the final outputs appear only at the end, without duplicates.

Sub-modules are imported on use, so ``import seisembed.waveforms`` stays light (the
Snakefile itself imports only :mod:`seisembed.workflow` at parse time).
"""
