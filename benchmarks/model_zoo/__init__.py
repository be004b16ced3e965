"""Model definitions written for the FLOP-accuracy benchmark: each file builds one model
at the bottom (under a main guard) from literal arguments and feeds it an example input,
as training scripts do, so the static estimator finds both on its own."""
