"""The control API, the state file format, and the HTTP/1.1 plumbing."""

import http.client
import json
import os
import socket
import tempfile

from fakeaws_client import ControlError, FakeAws
from testbase import FakeAwsCase


def _read_to_close(s):
    """Everything the server sends until it closes the connection."""
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


DEMO_LIKE = {
    "config": {"region": "eu-west-1", "classic_health_delay_seconds": 0},
    "instances": [
        {"id": "i-0aaaaaaaaaaaaaaa1", "tags": {"role": "web", "env": "prod"},
         "vpc_id": "vpc-0123456789abcdef0", "availability_zone": "eu-west-1a",
         "private_ip": "10.0.1.10"},
        {"id": "i-0aaaaaaaaaaaaaaa2", "tags": {"role": "web"},
         "vpc_id": "vpc-0123456789abcdef0", "availability_zone": "eu-west-1b",
         "state": "stopped"},
        {"tags": {"role": "db"}, "network_interfaces": [
            {"id": "eni-0bbbbbbbbbbbbbbb1", "private_ips": ["10.0.2.10",
                                                            "10.0.2.11"]},
            {"private_ips": ["10.0.3.10"]}]},
    ],
    "classic_load_balancers": [
        {"name": "web-classic", "vpc_id": "vpc-0123456789abcdef0",
         "availability_zones": ["eu-west-1a"],
         "instances": ["i-0aaaaaaaaaaaaaaa1"]}],
    "target_groups": [
        {"name": "web-tg", "vpc_id": "vpc-0123456789abcdef0", "port": 8080,
         "targets": [{"id": "i-0aaaaaaaaaaaaaaa1", "port": 9090}]}],
    "addresses": [
        {"public_ip": "203.0.113.10", "tags": {"Name": "vip-web"},
         "instance_id": "i-0aaaaaaaaaaaaaaa1"},
        {"tags": {"Name": "vip-db"}, "network_interface_id":
         "eni-0bbbbbbbbbbbbbbb1", "private_ip": "10.0.2.11"},
        {"allocation_id": "eipalloc-0ccccccccccccccc1"}],
    "keys": [{"access_key_id": "AKIADEMOKEY000000001",
              "secret_access_key": "demo-secret", "account_id":
              "111122223333"}],
}


class StateFormat(FakeAwsCase):
    def test_load_describe_dump_roundtrip(self):
        self.fa.load_state(DEMO_LIKE)
        ec2 = self.client("ec2", key="AKIADEMOKEY000000001",
                          secret="demo-secret", region="eu-west-1")
        addrs = {a["Tags"][0]["Value"] if a.get("Tags") else
                 a["AllocationId"]: a
                 for a in ec2.describe_addresses()["Addresses"]}
        self.assertEqual(addrs["vip-web"]["InstanceId"], "i-0aaaaaaaaaaaaaaa1")
        self.assertEqual(addrs["vip-web"]["PublicIp"], "203.0.113.10")
        self.assertEqual(addrs["vip-db"]["PrivateIpAddress"], "10.0.2.11")
        self.assertNotIn("InstanceId", addrs["eipalloc-0ccccccccccccccc1"])
        elb = self.client("elb", key="AKIADEMOKEY000000001",
                          secret="demo-secret")
        h = elb.describe_instance_health(LoadBalancerName="web-classic")
        self.assertEqual(h["InstanceStates"][0]["State"], "InService")
        v2 = self.client("elbv2", key="AKIADEMOKEY000000001",
                         secret="demo-secret")
        tg = v2.describe_target_groups(Names=["web-tg"])["TargetGroups"][0]
        self.assertIn(":eu-west-1:123456789012:targetgroup/web-tg/",
                      tg["TargetGroupArn"])
        th = v2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
        self.assertEqual(th["TargetHealthDescriptions"][0]["Target"],
                         {"Id": "i-0aaaaaaaaaaaaaaa1", "Port": 9090})
        self.assertEqual(th["TargetHealthDescriptions"][0]["TargetHealth"][
            "State"], "healthy")
        dumped = self.fa.get_state()
        self.fa.load_state(dumped)
        again = self.fa.get_state()
        self.assertEqual(json.dumps(dumped, sort_keys=True),
                         json.dumps(again, sort_keys=True))
        # The default key was replaced by the state's keys.
        self.assertError("AuthFailure", self.client("ec2").describe_instances)

    def test_example_state_file_loads(self):
        with open(os.path.join(os.path.dirname(__file__),
                               "example-state.json")) as f:
            doc = json.load(f)
        counts = self.fa.load_state(doc)
        self.assertEqual((counts["instances"], counts["addresses"],
                          counts["target_groups"]), (4, 3, 2))
        addrs = self.client("ec2").describe_addresses(Filters=[
            {"Name": "tag:Name", "Values": ["vip-db"]}])["Addresses"]
        self.assertEqual((addrs[0]["InstanceId"], addrs[0]["PrivateIpAddress"]),
                         ("i-0a1b2c3d4e5f60004", "10.0.1.21"))

    def test_control_creation_and_drift(self):
        inst = self.fa.create_instance(tags={"Name": "a"})
        iid = inst["InstanceId"]
        addr = self.fa.create_address(tags={"Name": "vip"})
        self.fa.associate_address(allocation_id=addr["AllocationId"],
                                  instance_id=iid)
        ec2 = self.client("ec2")
        got = ec2.describe_addresses()["Addresses"][0]
        self.assertEqual(got["InstanceId"], iid)
        self.fa.disassociate_address(allocation_id=addr["AllocationId"])
        self.assertNotIn("InstanceId", ec2.describe_addresses()[
            "Addresses"][0])
        # Out-of-band registration shows up in the API (console drift).
        self.fa.create_classic_lb(name="lb")
        self.fa.call("POST", "/classic-load-balancers/register",
                     {"name": "lb", "instances": [iid]})
        lb = self.client("elb").describe_load_balancers()[
            "LoadBalancerDescriptions"][0]
        self.assertEqual(lb["Instances"], [{"InstanceId": iid}])
        tg = self.fa.create_target_group(name="tg")
        self.fa.call("POST", "/target-groups/register",
                     {"target_group": "tg", "targets": [{"id": iid}]})
        th = self.client("elbv2").describe_target_health(
            TargetGroupArn=tg["arn"])["TargetHealthDescriptions"]
        self.assertEqual(th[0]["Target"]["Id"], iid)
        self.fa.call("POST", "/target-groups/deregister",
                     {"target_group": tg["arn"], "targets": [{"id": iid}]})
        self.assertEqual(self.fa.get_state()["target_groups"][0]["targets"],
                         [])

    def test_control_errors(self):
        with self.assertRaises(ControlError) as cm:
            self.fa.call("GET", "/nope")
        self.assertEqual(cm.exception.status, 404)
        with self.assertRaises(ControlError) as cm:
            self.fa.set_instance_state("i-0123456789abcdef0", "stopped")
        self.assertEqual(cm.exception.status, 404)
        iid = self.fa.create_instance()["InstanceId"]
        with self.assertRaises(ControlError) as cm:
            self.fa.set_instance_state(iid, "sleeping")
        self.assertEqual(cm.exception.status, 400)
        with self.assertRaises(ControlError) as cm:
            self.fa.set_config(no_such_option=1)
        self.assertEqual(cm.exception.status, 400)

    def test_command_line_state_and_keys(self):
        with tempfile.TemporaryDirectory() as d:
            state = os.path.join(d, "state.json")
            keys = os.path.join(d, "keys.json")
            with open(state, "w") as f:
                json.dump({"instances": [{"id": "i-0aaaaaaaaaaaaaaa1"}]}, f)
            with open(keys, "w") as f:
                json.dump({"keys": [{"access_key_id": "AKIAFILEKEY000000001",
                                     "secret_access_key": "file-secret"}]}, f)
            with FakeAws(state=state, keys=keys) as other:
                c = self.session.create_client(
                    "ec2", region_name="us-east-1", endpoint_url=other.url,
                    aws_access_key_id="AKIAFILEKEY000000001",
                    aws_secret_access_key="file-secret")
                self._clients.append(c)
                r = c.describe_instances()
                self.assertEqual(r["Reservations"][0]["Instances"][0][
                    "InstanceId"], "i-0aaaaaaaaaaaaaaa1")
                # A reset empties the state but keeps the --keys file.
                other.reset()
                self.assertEqual(c.describe_instances()["Reservations"], [])


class Http(FakeAwsCase):
    def request(self, conn, body=b"{}", headers=None):
        conn.request("POST", "/_fakeaws/health", body=body,
                     headers=headers or {})
        r = conn.getresponse()
        return r, r.read()

    def test_keep_alive(self):
        self.fa.reset_counters()
        conn = http.client.HTTPConnection("127.0.0.1", self.fa.port)
        for _ in range(3):
            conn.request("GET", "/_fakeaws/health")
            r = conn.getresponse()
            self.assertEqual(json.loads(r.read()), {"ok": True})
            self.assertEqual(r.getheader("Content-Length"), "16")
        conn.close()
        # One for the three requests, one for this counters() call.
        self.assertEqual(self.fa.counters()["totals"]["connections"], 2)

    def test_connection_close_honoured(self):
        s = socket.create_connection(("127.0.0.1", self.fa.port))
        s.sendall(b"GET /_fakeaws/health HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        data = _read_to_close(s)
        self.assertIn(b"Connection: close", data)
        self.assertTrue(data.endswith(b'{\n "ok": true\n}\n'))

    def test_expect_100_continue(self):
        s = socket.create_connection(("127.0.0.1", self.fa.port))
        body = b'{"x": 1}'
        s.sendall(b"PUT /_fakeaws/clock HTTP/1.1\r\nHost: x\r\n"
                  b"Expect: 100-continue\r\nContent-Length: 24\r\n\r\n")
        first = s.recv(4096)
        self.assertTrue(first.startswith(b"HTTP/1.1 100 Continue"), first)
        s.sendall(b'{"offset_seconds": 0.0 }')
        rest = s.recv(4096)
        s.close()
        self.assertIn(b"200 OK", rest)
        self.assertTrue(body)

    def test_chunked_request_body(self):
        s = socket.create_connection(("127.0.0.1", self.fa.port))
        payload = b'{"offset_seconds": 0}'
        s.sendall(b"PUT /_fakeaws/clock HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                  b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload))
        data = _read_to_close(s)
        self.assertIn(b"200 OK", data)
        self.assertIn(b'"offset_seconds": 0.0', data)
