from parceldesk.cli import main

main()
