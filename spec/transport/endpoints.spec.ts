import { expect } from "chai";
import { UsageError } from "../../lib/errors.js";
import { derivePubEndpoint, isLoopback, pubEndpointFor, validateEndpoint } from "../../lib/transport/endpoints.js";

describe("endpoints", () => {
  it("puts PUB on the next port, keeping ephemeral ports ephemeral", () => {
    expect(derivePubEndpoint("tcp://127.0.0.1:5580")).to.equal("tcp://127.0.0.1:5581");
    expect(derivePubEndpoint("tcp://0.0.0.0:*")).to.equal("tcp://0.0.0.0:*");
    expect(derivePubEndpoint("tcp://127.0.0.1:0")).to.equal("tcp://127.0.0.1:0");
    expect(derivePubEndpoint("ipc:///run/mqa.sock")).to.equal("ipc:///run/mqa.sock.pub");
    expect(() => derivePubEndpoint("udp://x:1")).to.throw(UsageError);
  });

  it("reaches the announced PUB port on the host the subscriber already connects to", () => {
    expect(pubEndpointFor("tcp://mail.example.org:5580", "tcp://0.0.0.0:5581")).to.equal("tcp://mail.example.org:5581");
    expect(pubEndpointFor("ipc:///run/mqa.sock", "ipc:///run/mqa.sock.pub")).to.equal("ipc:///run/mqa.sock.pub");
  });

  it("validates endpoints and tells loopback from the network", () => {
    expect(() => validateEndpoint("localhost:5580", "--bind")).to.throw(UsageError, /--bind/);
    expect(isLoopback("tcp://127.0.0.1:5580")).to.equal(true);
    expect(isLoopback("tcp://[::1]:5580")).to.equal(true);
    expect(isLoopback("tcp://0.0.0.0:5580")).to.equal(false);
    expect(isLoopback("tcp://mail.example.org:5580")).to.equal(false);
  });
});
