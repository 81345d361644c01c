//go:build !solution

// Command stretch stands for a lab's program in the tests of
// Session.Stretch: its starter still holds the marker.
package main

import "fmt"

func main() {
	// TODO(stretch): the tests look for this line.
	fmt.Println("starter")
}
