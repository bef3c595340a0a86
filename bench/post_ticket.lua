-- wrk script: POST a realistic ticket body.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"subject": "Cannot log in", "body": "Since this morning I cannot log in to my account, the page says my password is wrong although I reset it twice. Please help, I have a deadline today.", "requester": {"id": "c-42", "name": "Kim", "email": "kim@example.com"}, "language": "en"}'
