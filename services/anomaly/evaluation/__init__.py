"""How good the detectors are: benchmark scorers (NAB) and labelled cost anomalies."""
