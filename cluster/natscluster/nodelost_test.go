package natscluster

import "testing"

func TestNodeLostHooksRunInOrder(t *testing.T) {
	c, err := New(Config{Node: "solo"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	var got []string
	c.OnNodeLost(func(n string) { got = append(got, "a:"+n) })
	c.OnNodeLost(func(n string) { got = append(got, "b:"+n) })
	c.nodeLost("node-x", 7)
	if len(got) != 2 || got[0] != "a:node-x" || got[1] != "b:node-x" {
		t.Fatalf("hooks ran %v, want a then b for node-x", got)
	}
}
