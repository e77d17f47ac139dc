// Run in the phone page by tests/test_web.py: what is not translated.
(() => {
        const out = [];
        for (const lang of Object.keys(TEXT)) {
          for (const key of Object.keys(TEXT.en)) {
            if (!TEXT[lang][key]) out.push(`${lang}: no ${key}`);
            else if (lang !== "en" && TEXT[lang][key] === TEXT.en[key]
                     && !SAME_AS_ENGLISH_OK.has(key)) out.push(`${lang}: ${key} is English`);
          }
        }
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const text = node.textContent.trim();
          if (!text || node.parentElement.closest("select, script, [data-i18n]")) continue;
          if (/^[\p{Emoji}\s]+$/u.test(text)) continue;
          out.push(`no key for text: ${text}`);
        }
        for (const el of document.querySelectorAll("[aria-label]")) {
          if (!el.dataset.i18nAria) out.push(`no key for aria-label ${el.getAttribute("aria-label")}`);
        }
        for (const el of document.querySelectorAll("[placeholder]")) {
          if (!el.dataset.i18nPlaceholder && el.placeholder !== "••••••") out.push(`no key for placeholder ${el.placeholder}`);
        }
        return out;
      })
