from datasets.demo.generator import main

main()
