package auth_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/tollgate-wamp/tollgate/auth"
)

// WAMP-CRA vectors from wamp-spec.md §15.4.
const (
	craSecret    = "secret123"
	craChallenge = `{"authid":"peter","authrole":"user","authmethod":"wampcra","authprovider":"static","nonce":"Cn0h8vP1n8x9qJ2w","timestamp":"2024-01-01T00:00:00.000Z","session":1234567890}`
	craUnsalted  = "xX4UitJHX8UZMkxcrJ8dgmGoKKigDdc8q8pmb3R+Tnw="
	craDerived   = "Eu7CQLfR+/Ffb+275A4s9/6H/RGKYxM4s6IMrsNKzC8="
	craSalted    = "luiJQ9DczazsOYA/xBddG57SYq6OOQBuxPZgX7CSypM="
)

func TestWAMPCRAVectors(t *testing.T) {
	t.Parallel()
	if got := auth.SignWAMPCRA([]byte(craSecret), craChallenge); got != craUnsalted {
		t.Errorf("unsalted signature = %s, want %s", got, craUnsalted)
	}
	if got := auth.DeriveKey(craSecret, "salt123", 1000, 32); got != craDerived {
		t.Errorf("derived key = %s, want %s", got, craDerived)
	}
	if got := auth.DeriveKey(craSecret, "salt123", 0, 0); got != craDerived {
		t.Errorf("derived key with defaults = %s, want %s", got, craDerived)
	}
	if got := auth.SignWAMPCRA([]byte(craDerived), craChallenge); got != craSalted {
		t.Errorf("salted signature = %s, want %s", got, craSalted)
	}
	// A different challenge byte (here: a space) changes the signature:
	// the challenge must be signed exactly as received.
	if got := auth.SignWAMPCRA([]byte(craSecret), craChallenge+" "); got == craUnsalted {
		t.Error("signature ignores trailing bytes of the challenge")
	}
}

// Cryptosign vectors: wamp-spec.md §15.5 and the six of the WAMP spec's
// "Test Vectors" section.
var cryptosignVectors = []struct {
	name, channelID, seed, challenge, signature string
}{
	{"digest/no-binding", "", "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"c2d7722f11ccafb3ea8be77a87fb7e106f6a7a647f3141973d4504208460a52d30f3d86aac2dc21334f3a21cb9cdad0be4077578cea6d6cc5ea6fc78684fcb0b00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"},
	{"digest/binding", "1fc7aa539f007f2dd1cacc85298960f7d2580bd74f02b9544f831bd336cf5c30", "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"d0eb69e24d1c8923ad24956f26a923b64bfc164f3d9cfe257745ff1b75948d3ea56c968184f443bf21cb1ec539e4d1caf393cc08bd48ce851b7e128c4f7891021fd68860db55195a5953663ee5548e08d24929e40b57df23c71ab168fa12b2cf"},
	{"spec1", "", "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0cae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
	{"spec2", "", "d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd",
		"b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
		"d4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660fb26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d"},
	{"spec3", "", "6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b",
		"b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
		"7beb282184baadd08f166f16dd683b39cab53816ed81e6955def951cb2ddad1ec184e206746fd82bda075af03711d3d5658fc84a76196b0fa8d1ebc92ef9f30bb05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2"},
	{"spec4", "62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff", "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"9b6f41540c9b95b4b7b281c3042fa9c54cef43c842d62ea3fd6030fcb66e70b3e80d49d44c29d1635da9348d02ec93f3ed1ef227dfb59a07b580095c2b82f80f9d16ca518aa0c2b707f2b2a609edeca73bca8dd59817a633f35574ac6fd80d00"},
	{"spec5", "62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff", "d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd",
		"b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
		"305aaa3ac25e98f651427688b3fc43fe7d8a68a7ec1d7d61c61517c519bd4a427c3015599d83ca28b4c652333920223844ef0725eb5dc2febfd6af7677b73f01d0852a29b460fc92ec943242ac638a053bbacc200512b18b30d15083cbdc9282"},
	{"spec6", "62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff", "6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b",
		"b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
		"ee3c7644fd8070532bc1fde3d70d742267da545d8c8f03e63bda63f1ad4214f4d2c4bfdb4eb9526def42deeb7e31602a6ff99eba893e0a4ad4d45892ca75e608d2b75e24a189a7f78ca776ba36fc53f6c3e31c32f251f2c524f0a44202f2902d"},
}

func TestCryptosignVectors(t *testing.T) {
	t.Parallel()
	for _, v := range cryptosignVectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			priv, err := auth.ParsePrivateKey(v.seed)
			if err != nil {
				t.Fatal(err)
			}
			var cid []byte
			if v.channelID != "" {
				cid, _ = hex.DecodeString(v.channelID)
			}
			got, err := auth.SignCryptosign(priv, v.challenge, cid)
			if err != nil {
				t.Fatal(err)
			}
			if got != v.signature {
				t.Fatalf("signature\n got %s\nwant %s", got, v.signature)
			}
		})
	}
}

func TestCryptosignDigestPublicKey(t *testing.T) {
	t.Parallel()
	priv, err := auth.ParsePrivateKey("4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510")
	if err != nil {
		t.Fatal(err)
	}
	const want = "1adfc8bfe1d35616e64dffbd900096f23b066f914c8c2ffbb66f6075b96e116d"
	if got := hex.EncodeToString(priv.Public().(ed25519.PublicKey)); got != want {
		t.Fatalf("public key %s, want %s", got, want)
	}
	// The digest's channel id is SHA-256 of a stand-in Finished message.
	sum := sha256.Sum256([]byte("example-tls-finished-message"))
	if got := hex.EncodeToString(sum[:]); got != cryptosignVectors[1].channelID {
		t.Fatalf("channel id %s, want %s", got, cryptosignVectors[1].channelID)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	pub, priv := auth.GenerateKey()
	if len(pub) != 64 || len(priv) != 64 {
		t.Fatalf("GenerateKey lengths %d, %d; want 64, 64", len(pub), len(priv))
	}
	k, err := auth.ParsePrivateKey(" " + priv + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(k.Public().(ed25519.PublicKey)); got != pub {
		t.Fatalf("public key of parsed seed %s, want %s", got, pub)
	}
	full := hex.EncodeToString(k)
	if k2, err := auth.ParsePrivateKey(full); err != nil || !k2.Equal(k) {
		t.Fatalf("ParsePrivateKey(128 hex) = %v, %v", k2, err)
	}
	// A 64-byte key whose public half does not match its seed: flip the
	// last byte (always a different value, unlike overwriting it).
	last := full[126:]
	flipped := "00"
	if last == "00" {
		flipped = "01"
	}
	bad := []string{"", "zz", priv[:62], full[:126] + flipped, priv + "00"}
	for _, s := range bad {
		if _, err := auth.ParsePrivateKey(s); err == nil {
			t.Errorf("ParsePrivateKey(%q) accepted", s)
		}
	}
	ch := "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	if _, err := auth.SignCryptosign(k[:10], ch, nil); err == nil {
		t.Error("SignCryptosign accepted a short key")
	}
	if _, err := auth.SignCryptosign(k, ch[:10], nil); err == nil {
		t.Error("SignCryptosign accepted a short challenge")
	}
	if _, err := auth.SignCryptosign(k, ch, []byte{1, 2}); err == nil {
		t.Error("SignCryptosign accepted a short channel id")
	}
}
