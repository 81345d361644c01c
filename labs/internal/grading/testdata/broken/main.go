// Command broken stands for a learner's program that does not compile.
package main

func main() {
	var n int = "not a number"
	_ = n
}
