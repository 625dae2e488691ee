import httpx

from tests.support.services import Service


def test_chat(gateway: Service, bootstrap: dict[str, str]) -> None:
    h = {"Authorization": f"Bearer {bootstrap['api_key']}"}
    r = httpx.post(gateway.url + "/v1/chat/completions", headers=h,
                   json={"model": "tiny-test-model", "messages": [{"role": "user", "content": "hi"}]})
    print(r.status_code, r.headers, r.text)
    r = httpx.post(gateway.url + "/v1/chat/completions", headers=h,
                   json={"model": "tiny-test-model", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    print(r.status_code, r.headers, r.text)
    print(httpx.get(gateway.url + "/health").text)
    print(httpx.get(gateway.url + "/v1/models", headers=h).text)
    print(httpx.get(gateway.url + "/metrics").text[-1500:])
    print(gateway.log_tail())
