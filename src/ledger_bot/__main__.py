from ledger_bot.cli import main

main()
