//go:build !solution

// Command hello stands for a lab's program in the tests of Build: it says
// which of its two files it was built from.
package main

import "fmt"

func main() { fmt.Println("starter") }
