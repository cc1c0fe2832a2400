package rpc

import "testing"

// A client (by IP, whatever its port) has at most max searches in progress; another
// client is not affected, and a finished search gives its slot back.
func TestSearchesInProgressAreCappedPerClient(t *testing.T) {
	slots := newClientSlots(2)
	first, ok1 := slots.acquire("192.0.2.1:5000")
	_, ok2 := slots.acquire("192.0.2.1:5001")
	if !ok1 || !ok2 {
		t.Fatal("the first two searches of a client were refused")
	}
	if _, ok := slots.acquire("192.0.2.1:5002"); ok {
		t.Fatal("a third search of one client (another port, same IP) ran beside two in progress")
	}
	if _, ok := slots.acquire("198.51.100.9:5000"); !ok {
		t.Fatal("another client was refused because of the first one's searches")
	}
	first()
	if _, ok := slots.acquire("192.0.2.1:5003"); !ok {
		t.Fatal("a finished search did not give its slot back")
	}
}
