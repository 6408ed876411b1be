from genealogy.cli import main

main()
