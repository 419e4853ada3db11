"""A tenant app that exists only in the benchmarks: it gives migrate_schemas one new migration to apply."""
