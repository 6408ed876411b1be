from genealogy.cli.entry import run

run()
