from affcurate.cli import main

main()
