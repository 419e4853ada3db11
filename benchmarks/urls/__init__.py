"""URL confs of the benchmarks: an organisation's site plus what each benchmark measures against."""
